// A batched kernel: its operands bound as usual (operands.ts) plus the recorder's parameter-table
// arena as the last, read-only binding; each dispatch passes its table rows (one per workgroup z).
import type { KernelContext } from "./context.ts";
import type { BoundOperands } from "./operands.ts";
import type { TableRows } from "./recorder.ts";

export interface TableKernel {
  dispatch(kernel: string, groups: [number, number, number], table: TableRows, u32?: number[]): void;
}

/** The cached pipeline `key` built by `source(tableBinding)`, ready to dispatch with a table. */
export function tableKernel(ctx: KernelContext, key: string, label: string, bound: BoundOperands, source: (tableBinding: number) => string): TableKernel {
  const storage = [...bound.storage, { readOnly: true }];
  const pipeline = ctx.pipelines.get(key, label, storage, () => source(bound.buffers.length + 1));
  const buffers = [...bound.buffers, ctx.recorder.tableStorage];
  return {
    dispatch(kernel, groups, table, u32 = [0]) {
      ctx.recorder.dispatch({ kernel, pipeline, storage, buffers, u32, groups, table });
    },
  };
}
