// Classification accuracy (docs/algorithm.md §12.1): the fraction of samples whose predicted class
// is their label. Which networks are classifiers, and what their class and label are, follows from
// the loss and the shapes alone, so any loss over K outputs with integer labels (softmax
// cross-entropy among them) is covered without naming it here:
//   mixture (K = 3):          class 1 when p(y = 1 | h) = σ(h₁)σ(h₂) + σ(−h₁)σ(h₃) ≥ ½; label y
//   one output (bce):         class 1 when σ(h) ≥ ½, i.e. h ≥ 0;                    label 1 when y ≥ ½
//   K > 1 outputs, y a label: class argmax_k h_k (the first of equal maxima);       label y ∈ {0 … K−1}
//   K > 1 outputs, y one-hot: class argmax_k h_k;                                   label argmax_k y_k
// sse, the autoencoder and multi-label targets (rows that are not one-hot) have no accuracy.
import type { LossKind } from "../backend/types.ts";
import { sigmoid } from "../backend/mixture.ts";

/**
 * The class label of every row of `targets` (count × width, row-major) for a network of `outputs`
 * outputs under `loss`, or undefined when the task is not a classification (see above).
 */
export function classLabels(loss: LossKind | string, outputs: number, targets: ArrayLike<number> | undefined, width: number): Int32Array | undefined {
  if (loss === "sse" || !targets || width < 1) return undefined;
  const count = targets.length / width;
  const labels = new Int32Array(count);
  if (loss === "mixture" || outputs === 1) {
    if (width !== 1) return undefined;
    for (let r = 0; r < count; r++) labels[r] = targets[r] >= 0.5 ? 1 : 0;
    return labels;
  }
  if (width === 1) {
    for (let r = 0; r < count; r++) {
      const y = targets[r];
      if (!Number.isInteger(y) || y < 0 || y >= outputs) return undefined;
      labels[r] = y;
    }
    return labels;
  }
  if (width !== outputs) return undefined;
  for (let r = 0; r < count; r++) {
    let hot = -1;
    for (let k = 0; k < width; k++) {
      const y = targets[r * width + k];
      if (y === 1 && hot < 0) hot = k;
      else if (y !== 0) return undefined;
    }
    if (hot < 0) return undefined;
    labels[r] = hot;
  }
  return labels;
}

/** The predicted class by the rule above of the sample whose output h_k is h[at + k·stride], k < K = `outputs`. */
export function predictedClass(loss: LossKind | string, outputs: number, h: ArrayLike<number>, at: number, stride: number): number {
  if (loss === "mixture") {
    const g = sigmoid(h[at]);
    return g * sigmoid(h[at + stride]) + (1 - g) * sigmoid(h[at + 2 * stride]) >= 0.5 ? 1 : 0;
  }
  if (outputs === 1) return h[at] >= 0 ? 1 : 0;
  let best = 0;
  for (let k = 1; k < outputs; k++) if (h[at + k * stride] > h[at + best * stride]) best = k;
  return best;
}

/** Predicted classes of count × K outputs given row-major (as Network.predict returns them). */
export function predictClasses(loss: LossKind | string, outputs: number, h: ArrayLike<number>): Int32Array {
  const count = h.length / outputs;
  const out = new Int32Array(count);
  for (let r = 0; r < count; r++) out[r] = predictedClass(loss, outputs, h, r * outputs, 1);
  return out;
}

/** The number of samples r in [0, n) of a K × n output block (sample per column) whose class is labels[first + r]. */
export function countCorrect(loss: LossKind | string, outputs: number, h: ArrayLike<number>, n: number, labels: Int32Array, first: number): number {
  let correct = 0;
  for (let r = 0; r < n; r++) if (predictedClass(loss, outputs, h, r, n) === labels[first + r]) correct++;
  return correct;
}
