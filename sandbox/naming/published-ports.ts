/**
 * The `stowage.ports` label (LABEL_PORTS) on a student's container: its `-p HOST:CONTAINER`
 * mappings as JSON. The proxy writes it when the container is created; the session reads it back
 * to serve those ports on the workstation's localhost (sessions/port-forwards.ts).
 */

/** One `-p HOST:CONTAINER` mapping, served on the workstation's localhost. */
export interface PublishedPort {
  hostPort: number;
  containerPort: number;
  protocol: "tcp";
}

/** The mappings in a container's LABEL_PORTS value; none when it is missing or not ours. */
export function parsePorts(label: string | undefined): PublishedPort[] {
  if (!label) return [];
  try {
    const value = JSON.parse(label) as PublishedPort[];
    return Array.isArray(value)
      ? value.filter((p) => Number.isInteger(p.hostPort) && Number.isInteger(p.containerPort))
      : [];
  } catch {
    return [];
  }
}
