/** What both checks of image-owns-data share: the image the student built. */
import { fail, type CheckSession, type ImageInfo } from "../../../../sandbox/checks/api.ts";

export const IMAGE = "stash";
export const VOLUME = "stash-data";
export const UID = 10001;

/** The image `stash`, which the student must have built (a course image under that name is not). */
export async function builtImage(s: CheckSession): Promise<ImageInfo> {
  const image = await s.image(IMAGE);
  if (!image)
    throw fail(
      `There is no image named ${IMAGE} yet: write ~/stash/Dockerfile, then docker build -t ${IMAGE} ~/stash.`,
    );
  if (!image.built)
    throw fail(
      `${IMAGE} is a course image under another name (docker tag), not one you built: build it from your Dockerfile with docker build -t ${IMAGE} ~/stash.`,
    );
  return image;
}

/** True when a container's image attribute (as typed: "stash", "stash:latest", an id) names `image`. */
export function namesImage(typed: string, image: ImageInfo): boolean {
  const ref =
    typed.includes(":") && !/^(sha256:)?[0-9a-f]+$/.test(typed) ? typed : `${typed}:latest`;
  const hex = typed.replace(/^sha256:/, "");
  return image.tags.includes(ref) || (hex.length >= 12 && image.id.slice(7).startsWith(hex));
}
