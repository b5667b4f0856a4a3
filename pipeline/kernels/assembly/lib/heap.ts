// Every kernel entry re-exports this: the loader (pipeline/kernels/wasm.ts) lays its buffers out past
// the module's static data, which each instantiation rewrites.
export function heapBase(): usize {
  return __heap_base;
}
