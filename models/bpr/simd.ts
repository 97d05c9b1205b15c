/**
 * BPR training in WebAssembly SIMD (f32x4), assembled here byte by byte (no toolchain needed). The module imports a
 * memory (shared, so worker threads train hogwild over the same factors) and Math.exp / Math.log1p, and exports:
 *
 *   run(samples, seed, nnz, nItems, lr, reg, negMode, verify, uB, vB, userOfB, indptrB, indicesB, stride, nf, bias, statsB, candidates)
 *       the whole sampling + SGD loop of kernel.ts (same sampler, same rules), over U, V and the CSR arrays in the
 *       memory at those byte offsets; adds [correct, skipped, lossSum, lossCount] as f64 at statsB
 *   dot(u, i, k, n4, tail) → f32      Σ_c U[u+c]·(V[i+c] − V[k+c]) over 4·n4 + tail floats
 *   update(u, i, k, n4, tail, lz, decay)  for each of the 4·n4 + tail floats c:
 *       U[u+c] ← decay·U[u+c] + lz·(V[i+c] − V[k+c]);  V[i+c] ← decay·V[i+c] + lz·U[u+c];  V[k+c] ← decay·V[k+c] − lz·U[u+c]
 *       (all from the values before the update)
 *
 * u, i, k are byte offsets into the memory. Arithmetic is f32 (the JS kernel rounds from f64), so the two kernels agree
 * in distribution, not bit for bit; each is deterministic on its own with one thread.
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


// more opcodes for the sampling loop
const I32_MUL = 0x6c;
const I32_AND = 0x71;
const I32_OR = 0x72;
const I32_XOR = 0x73;
const I32_SHL = 0x74;
const I32_SHR_U = 0x76;
const I32_EQ = 0x46;
const I32_LT_S = 0x48;
const I32_GT_S = 0x4a;
const I32_GE_S = 0x4e;
const F32_GT = 0x5e;
const F64 = 0x7c;
const F64_LT = 0x63;
const F64_NEG = 0x9a;
const F64_ADD = 0xa0;
const F64_MUL = 0xa2;
const F64_DIV = 0xa3;
const F64_SUB = 0xa1;
const F64_PROMOTE = 0xbb;
const F32_DEMOTE = 0xb6;
const F64_FROM_I32 = 0xb7;
const IF = [0x04, 0x40];
const IF_F64 = [0x04, F64];
const ELSE = 0x05;
const call = (f: number): number[] => [0x10, ...uleb(f)];
const i32load = (offset = 0): number[] => [0x28, 0x02, ...uleb(offset)];
const f64load = (offset = 0): number[] => [0x2b, 0x03, ...uleb(offset)];
const f64store = (offset = 0): number[] => [0x39, 0x03, ...uleb(offset)];
const f64c = (x: number): number[] => {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, x, true);
  return [0x44, ...b];
};
const f32c = (x: number): number[] => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [0x43, ...b];
};

// function indices: imports exp (0) and log1p (1), then dot (2), update (3), run (4)
const FN_EXP = 0;
const FN_LOG1P = 1;
const FN_DOT = 2;
const FN_UPDATE = 3;

/**
 * run(samples, seed, nnz, nItems, lr f64, reg f64, negMode, verify, uBase, vBase, userOfBase, indptrBase, indicesBase,
 * stride, nf, bias, statsBase, candidates): the whole of `bprKernel` (kernel.ts) inside WebAssembly, with the CSR arrays in
 * the same memory; adds [correct, skipped, lossSum, lossCount] as f64 at statsBase.
 */
function runBody(): number[] {
  const [SAMPLES, , NNZ, NITEMS, LR, REG, NEGMODE, VERIFY, UB, VB, USEROF, INDPTR, INDICES, STRIDE, NF, BIAS, STATS, CANDS] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const [N, S, T, J, U, I, K, ROWA, ROWB, TRIES, CAND, LO, HI, MID, V, FOUND, UO, IO, KO, CORRECT, SKIPPED, LOSSN, BEST, C] = [18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41];
  const [X, LZ, DECAY] = [42, 43, 44];
  const [Z, LOSS] = [45, 46];
  const SEED = 1;
  const locals = vec([[24, I32], [3, F32], [2, F64]]);
  const mix = [
    ...get(S), ...i32c(0x6d2b79f5 | 0), I32_ADD, ...set(S),
    ...get(S), ...get(S), ...i32c(15), I32_SHR_U, I32_XOR, ...get(S), ...i32c(1), I32_OR, I32_MUL, ...set(T),
    ...get(T), ...get(T), ...get(T), ...get(T), ...i32c(7), I32_SHR_U, I32_XOR, ...get(T), ...i32c(61), I32_OR, I32_MUL, I32_ADD, I32_XOR, ...set(T),
    ...get(T), ...get(T), ...i32c(14), I32_SHR_U, I32_XOR, ...set(T),
  ];
  // floor(t · n / 2^32) with t and n unsigned
  const scaled = (nLocal: number): number[] => [...get(T), 0xad, ...get(nLocal), 0xad, 0x7e, 0x42, ...sleb(32), 0x88, 0xa7];
  const at = (base: number, idx: number[]): number[] => [...get(base), ...idx, ...i32c(2), I32_SHL, I32_ADD];
  const binarySearch = [
    ...get(ROWA), ...set(LO), ...get(ROWB), ...i32c(1), I32_SUB, ...set(HI), ...i32c(0), ...set(FOUND),
    ...BLOCK, ...LOOP,
    ...get(LO), ...get(HI), I32_GT_S, ...brIf(1),
    ...get(LO), ...get(HI), I32_ADD, ...i32c(1), I32_SHR_U, ...set(MID),
    ...at(INDICES, get(MID)), ...i32load(), ...set(V),
    ...get(V), ...get(CAND), I32_EQ, ...IF, ...i32c(1), ...set(FOUND), ...br(2), END,
    ...get(V), ...get(CAND), I32_LT_S, ...IF, ...get(MID), ...i32c(1), I32_ADD, ...set(LO), ELSE, ...get(MID), ...i32c(1), I32_SUB, ...set(HI), END,
    ...br(0),
    END, END,
  ];
  const drawNegative = [
    ...i32c(-1), ...set(K), ...i32c(0), ...set(TRIES),
    ...BLOCK, ...LOOP,
    ...get(TRIES), ...i32c(16), I32_GE_S, ...brIf(1),
    ...get(TRIES), ...i32c(1), I32_ADD, ...set(TRIES),
    ...mix,
    ...get(NEGMODE), I32_EQZ, ...IF, ...scaled(NITEMS), ...set(CAND), ELSE, ...at(INDICES, scaled(NNZ)), ...i32load(), ...set(CAND), END,
    ...get(CAND), ...get(I), I32_EQ, ...brIf(0),
    ...get(VERIFY), ...IF, ...binarySearch, ...get(FOUND), ...brIf(1), END,
    ...get(CAND), ...set(K), ...br(1),
    END, END,
  ];
  const biasStep = (off: number, sign: number): number[] => {
    const addr = [...get(off), ...get(NF), ...i32c(2), I32_SHL, I32_ADD];
    return [...addr, ...get(DECAY), ...addr, ...f32load(), F32_MUL, ...get(LZ), sign > 0 ? F32_ADD : F32_SUB, ...f32store()];
  };
  const rowAddr = (base: number, idx: number): number[] => [...get(base), ...get(idx), ...get(STRIDE), I32_MUL, ...i32c(2), I32_SHL, I32_ADD];
  // dynamic negative sampling: of CANDS valid draws keep the one the user scores highest (U·(V_k − V_best) > 0)
  const pickNegative = [
    ...i32c(-1), ...set(BEST), ...i32c(0), ...set(C),
    ...BLOCK, ...LOOP,
    ...get(C), ...get(CANDS), I32_GE_S, ...brIf(1),
    ...get(C), ...i32c(1), I32_ADD, ...set(C),
    ...drawNegative,
    ...get(K), ...i32c(0), I32_GE_S, ...IF,
    ...get(BEST), ...i32c(0), I32_LT_S, ...IF,
    ...get(K), ...set(BEST),
    ELSE,
    ...rowAddr(UB, U), ...rowAddr(VB, K), ...rowAddr(VB, BEST), ...get(STRIDE), ...i32c(2), I32_SHR_U, ...get(STRIDE), ...i32c(3), I32_AND, ...call(FN_DOT),
    ...f32c(0), F32_GT, ...IF, ...get(K), ...set(BEST), END,
    END,
    END,
    ...br(0),
    END, END,
    ...get(BEST), ...set(K),
  ];
  const sgdStep = [
    ...rowAddr(UB, U), ...set(UO), ...rowAddr(VB, I), ...set(IO), ...rowAddr(VB, K), ...set(KO),
    ...get(UO), ...get(IO), ...get(KO), ...get(STRIDE), ...i32c(2), I32_SHR_U, ...get(STRIDE), ...i32c(3), I32_AND, ...call(FN_DOT), ...set(X),
    // z = 1 / (1 + e^x)
    ...f64c(1), ...f64c(1), ...get(X), F64_PROMOTE, ...call(FN_EXP), F64_ADD, F64_DIV, ...set(Z),
    ...get(Z), ...f64c(0.5), F64_LT, ...IF, ...get(CORRECT), ...i32c(1), I32_ADD, ...set(CORRECT), END,
    ...get(N), ...i32c(15), I32_AND, I32_EQZ, ...IF,
    ...get(LOSS),
    ...get(X), ...f32c(0), F32_GT, ...IF_F64,
    ...get(X), F64_PROMOTE, F64_NEG, ...call(FN_EXP), ...call(FN_LOG1P),
    ELSE,
    ...get(X), F64_PROMOTE, F64_NEG, ...get(X), F64_PROMOTE, ...call(FN_EXP), ...call(FN_LOG1P), F64_ADD,
    END,
    F64_ADD, ...set(LOSS),
    ...get(LOSSN), ...i32c(1), I32_ADD, ...set(LOSSN),
    END,
    ...get(LR), ...get(Z), F64_MUL, F32_DEMOTE, ...set(LZ),
    ...get(UO), ...get(IO), ...get(KO), ...get(NF), ...i32c(2), I32_SHR_U, ...get(NF), ...i32c(3), I32_AND, ...get(LZ), ...get(DECAY), ...call(FN_UPDATE),
    ...get(BIAS), ...IF, ...biasStep(IO, 1), ...biasStep(KO, -1), END,
  ];
  const addStat = (offset: number, value: number[]): number[] => [...get(STATS), ...get(STATS), ...f64load(offset), ...value, F64_ADD, ...f64store(offset)];
  const code = [
    ...get(SEED), ...set(S),
    ...f64c(1), ...get(LR), ...get(REG), F64_MUL, F64_SUB, F32_DEMOTE, ...set(DECAY),
    ...BLOCK, ...LOOP,
    ...get(N), ...get(SAMPLES), I32_GE_S, ...brIf(1),
    ...mix,
    ...scaled(NNZ), ...set(J),
    ...at(USEROF, get(J)), ...i32load(), ...set(U),
    ...at(INDICES, get(J)), ...i32load(), ...set(I),
    ...at(INDPTR, get(U)), ...i32load(), ...set(ROWA),
    ...at(INDPTR, get(U)), ...i32load(4), ...set(ROWB),
    ...pickNegative,
    ...get(K), ...i32c(0), I32_LT_S, ...IF, ...get(SKIPPED), ...i32c(1), I32_ADD, ...set(SKIPPED), ELSE, ...sgdStep, END,
    ...get(N), ...i32c(1), I32_ADD, ...set(N),
    ...br(0),
    END, END,
    ...addStat(0, [...get(CORRECT), F64_FROM_I32]),
    ...addStat(8, [...get(SKIPPED), F64_FROM_I32]),
    ...addStat(16, get(LOSS)),
    ...addStat(24, [...get(LOSSN), F64_FROM_I32]),
    END,
  ];
  return [...locals, ...code];
}

/** The module's bytes; `pages` is the size of the imported memory (64 KiB pages), shared or not. */
export function simdModuleBytes(pages: number, shared: boolean): Uint8Array {
  const types = section(1, vec([
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32]]), ...vec([[F32]])],
    [0x60, ...vec([[I32], [I32], [I32], [I32], [I32], [F32], [F32]]), ...vec([])],
    [0x60, ...vec([[F64]]), ...vec([[F64]])],
    [0x60, ...vec([[I32], [I32], [I32], [I32], [F64], [F64], [I32], [I32], [I32], [I32], [I32], [I32], [I32], [I32], [I32], [I32], [I32], [I32]]), ...vec([])],
  ]));
  const memType = shared ? [0x03, ...uleb(pages), ...uleb(pages)] : [0x01, ...uleb(pages), ...uleb(pages)];
  const imports = section(2, vec([
    [...str('env'), ...str('exp'), 0x00, 2],
    [...str('env'), ...str('log1p'), 0x00, 2],
    [...str('env'), ...str('mem'), 0x02, ...memType],
  ]));
  const funcs = section(3, vec([[0], [1], [3]]));
  const exports = section(7, vec([[...str('dot'), 0x00, FN_DOT], [...str('update'), 0x00, FN_UPDATE], [...str('run'), 0x00, 4]]));
  const body = (b: number[]): number[] => [...uleb(b.length), ...b];
  const code = section(10, vec([body(dotBody()), body(updateBody()), body(runBody())]));
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...types, ...imports, ...funcs, ...exports, ...code]);
}

export interface SimdOps {
  run(samples: number, seed: number, nnz: number, nItems: number, lr: number, reg: number, negMode: number, verify: number, uBase: number, vBase: number,
    userOfBase: number, indptrBase: number, indicesBase: number, stride: number, nf: number, bias: number, statsBase: number, candidates: number): void;
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
  return new wasm.Instance(module, { env: { mem: memory, exp: Math.exp, log1p: Math.log1p } }).exports as unknown as SimdOps;
}
