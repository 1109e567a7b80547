/** A refusal: what the student's CLI prints as `Error response from daemon: ...`. */
export class PolicyError extends Error {
  readonly status: number;
  constructor(message: string, status = 403) {
    super(message);
    this.status = status;
  }
}

/** Refuses `what` (and says why): 403 "this sandbox does not allow ...". */
export const refuse = (what: string, why = ""): never => {
  throw new PolicyError(`this sandbox does not allow ${what}${why ? `: ${why}` : ""}`);
};
