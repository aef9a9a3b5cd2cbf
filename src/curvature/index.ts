// Where to find the curvature maths: kfra.ts (the paper's recursion), kflr.ts, kfac.ts; estimator.ts
// holds Q_λ and what the three share; hessian.ts the exact per-sample Hessian recursion (analysis).
import type { Backend } from "../backend/types.ts";
import type { NetworkSpec } from "../nn/spec.ts";
import type { CurvatureEstimator, CurvatureKind } from "./estimator.ts";
import { KfacEstimator } from "./kfac.ts";
import { KflrEstimator } from "./kflr.ts";
import { KfraEstimator } from "./kfra.ts";

export * from "./estimator.ts";

export function createEstimator(kind: CurvatureKind, backend: Backend, spec: NetworkSpec, batchSize: number, seed: number): CurvatureEstimator {
  switch (kind) {
    case "kfra":
      return new KfraEstimator(backend, spec, batchSize);
    case "kflr":
      return new KflrEstimator(backend, spec, batchSize);
    case "kfac":
      return new KfacEstimator(backend, spec, batchSize, seed);
  }
}
export * from "./pass.ts";
