/**
 * The BPR update's arithmetic in WebAssembly SIMD (f32x4), assembled here byte by byte (no toolchain needed).
 * Two functions over a memory that the caller provides (shared when worker threads train together):
 *
 *   dot(u, i, k, n4, tail) → f32      Σ_c U[u+c]·(V[i+c] − V[k+c]) over 4·n4 + tail floats
 *   update(u, i, k, n4, tail, lz, decay)  for each of the 4·n4 + tail floats c:
 *       U[u+c] ← decay·U[u+c] + lz·(V[i+c] − V[k+c]);  V[i+c] ← decay·V[i+c] + lz·U[u+c];  V[k+c] ← decay·V[k+c] − lz·U[u+c]
 *       (all from the values before the update)
 *
 * u, i, k are byte offsets into the memory. The sampling, the sigmoid and the statistics stay in JavaScript.
 */

/** The few WebAssembly APIs used here (the project's lib settings leave the DOM's WebAssembly types out). */
export interface WasmMemory {
  readonly buffer: ArrayBufferLike;
}
export interface WasmModule {
  readonly __wasmModule?: never;
}
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: object) => { exports: unknown };
  validate(bytes: Uint8Array): boolean;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** A shared memory of `pages` 64 KiB pages, and the SIMD module compiled for it. */
export function createSimdMemory(pages: number): { memory: WasmMemory; module: WasmModule } {
  return { memory: new wasm.Memory({ initial: pages, maximum: pages, shared: true }), module: new wasm.Module(simdModuleBytes(pages, true)) };
}

const I32 = 0x7f;
const F32 = 0x7d;
const V128 = 0x7b;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function str(s: string): number[] {
  const b = [...new TextEncoder().encode(s)];
  return [...uleb(b.length), ...b];
}

// opcodes
const get = (i: number): number[] => [0x20, i];
const set = (i: number): number[] => [0x21, i];
const i32c = (n: number): number[] => [0x41, ...sleb(n)];
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}
const I32_ADD = 0x6a;
const I32_SUB = 0x6b;
const I32_EQZ = 0x45;
const F32_ADD = 0x92;
const F32_SUB = 0x93;
const F32_MUL = 0x94;
const f32load = (): number[] => [0x2a, 0x02, 0x00];
const f32store = (): number[] => [0x38, 0x02, 0x00];
const v128load = (): number[] => [0xfd, ...uleb(0), 0x00, 0x00];
const v128store = (): number[] => [0xfd, ...uleb(11), 0x00, 0x00];
const f32x4 = (op: number): number[] => [0xfd, ...uleb(op)];
const SPLAT = 0x13;
const EXTRACT = 0x1f;
const VADD = 228;
const VSUB = 229;
const VMUL = 230;
const BLOCK = [0x02, 0x40];
const LOOP = [0x03, 0x40];
const END = 0x0b;
const brIf = (d: number): number[] => [0x0d, d];
const br = (d: number): number[] => [0x0c, d];

/** `for (; n > 0; n--) { body; u += step; i += step; k += step }` with locals u=0, i=1, k=2 and n at `nLocal`. */
function countedLoop(nLocal: number, step: number, body: number[]): number[] {
  const advance = (l: number): number[] => [...get(l), ...i32c(step), I32_ADD, ...set(l)];
  return [
    ...BLOCK, ...LOOP,
    ...get(nLocal), I32_EQZ, ...brIf(1),
    ...body,
    ...advance(0), ...advance(1), ...advance(2),
    ...get(nLocal), ...i32c(1), I32_SUB, ...set(nLocal),
    ...br(0),
    END, END,
  ];
}

function dotBody(): number[] {
  // params: u0 i1 k2 n4(3) tail(4); locals: acc v128 (5), s f32 (6)
  const vecStep = [...get(5), ...get(0), ...v128load(), ...get(1), ...v128load(), ...get(2), ...v128load(), ...f32x4(VSUB), ...f32x4(VMUL), ...f32x4(VADD), ...set(5)];
  const scalarStep = [...get(6), ...get(0), ...f32load(), ...get(1), ...f32load(), ...get(2), ...f32load(), F32_SUB, F32_MUL, F32_ADD, ...set(6)];
  const lane = (l: number): number[] => [...get(5), ...f32x4(EXTRACT), l];
  const locals = vec([[1, V128], [1, F32]]);
  const code = [
    0x43, 0, 0, 0, 0, ...f32x4(SPLAT), ...set(5),
    ...countedLoop(3, 16, vecStep),
    ...countedLoop(4, 4, scalarStep),
    ...lane(0), ...lane(1), F32_ADD, ...lane(2), ...lane(3), F32_ADD, F32_ADD, ...get(6), F32_ADD,
    END,
  ];
  return [...locals, ...code];
}

function updateBody(): number[] {
  // params: u0 i1 k2 n4(3) tail(4) lz(5 f32) decay(6 f32); locals: vlz(7) vdec(8) uf(9) pf(10) qf(11) v128; su(12) sp(13) sq(14) f32
  const locals = vec([[5, V128], [3, F32]]);
  const vecStep = [
    ...get(0), ...v128load(), ...set(9), ...get(1), ...v128load(), ...set(10), ...get(2), ...v128load(), ...set(11),
    // U ← dec·uf + lz·(pf − qf)
    ...get(0), ...get(8), ...get(9), ...f32x4(VMUL), ...get(7), ...get(10), ...get(11), ...f32x4(VSUB), ...f32x4(VMUL), ...f32x4(VADD), ...v128store(),
    // V[i] ← dec·pf + lz·uf
    ...get(1), ...get(8), ...get(10), ...f32x4(VMUL), ...get(7), ...get(9), ...f32x4(VMUL), ...f32x4(VADD), ...v128store(),
    // V[k] ← dec·qf − lz·uf
    ...get(2), ...get(8), ...get(11), ...f32x4(VMUL), ...get(7), ...get(9), ...f32x4(VMUL), ...f32x4(VSUB), ...v128store(),
  ];
  const scalarStep = [
    ...get(0), ...f32load(), ...set(12), ...get(1), ...f32load(), ...set(13), ...get(2), ...f32load(), ...set(14),
    ...get(0), ...get(6), ...get(12), F32_MUL, ...get(5), ...get(13), ...get(14), F32_SUB, F32_MUL, F32_ADD, ...f32store(),
    ...get(1), ...get(6), ...get(13), F32_MUL, ...get(5), ...get(12), F32_MUL, F32_ADD, ...f32store(),
    ...get(2), ...get(6), ...get(14), F32_MUL, ...get(5), ...get(12), F32_MUL, F32_SUB, ...f32store(),
  ];
  const code = [
    ...get(5), ...f32x4(SPLAT), ...set(7), ...get(6), ...f32x4(SPLAT), ...set(8),
    ...countedLoop(3, 16, vecStep),
    ...countedLoop(4, 4, scalarStep),
    END,
  ];
  return [...locals, ...code];
}

/** The module's bytes; `pages` is the size of the imported memory (64 KiB pages), shared or not. */
export function simdModuleBytes(pages: number, shared: boolean): Uint8Array {
  const types = section(1, vec([
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), ...vec([[F32]])],
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [F32], [F32]]), ...vec([])],
  ]));
  const memType = shared ? [0x03, ...uleb(pages), ...uleb(pages)] : [0x01, ...uleb(pages), ...uleb(pages)];
  const imports = section(2, vec([[...str('env'), ...str('mem'), 0x02, ...memType]]));
  const funcs = section(3, vec([[0], [1]]));
  const exports = section(7, vec([[...str('dot'), 0x00, 0], [...str('update'), 0x00, 1]]));
  const body = (b: number[]): number[] => [...uleb(b.length), ...b];
  const code = section(10, vec([body(dotBody()), body(updateBody())]));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...funcs, ...exports, ...code]);
}

export interface SimdOps {
  dot(u: number, i: number, k: number, n4: number, tail: number): number;
  update(u: number, i: number, k: number, n4: number, tail: number, lz: number, decay: number): void;
}

/** True when this runtime validates WebAssembly SIMD (Node ≥ 16.4 does). */
export function simdSupported(): boolean {
  try {
    return wasm.validate(simdModuleBytes(1, true));
  } catch {
    return false;
  }
}

/** Instantiates `module` (from {@link simdModuleBytes}) over `memory`; worker threads do the same with their copy. */
export function instantiateSimd(memory: WasmMemory, module: WasmModule): SimdOps {
  return new wasm.Instance(module, { env: { mem: memory } }).exports as unknown as SimdOps;
}
