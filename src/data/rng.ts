// A small seeded PRNG (xoshiro128**, seeded through splitmix32) so shuffles and augmentations repeat
// exactly for a seed, independent of libtorch's generator and of Math.random.

function splitmix32(state: number): [next: number, out: number] {
  const next = (state + 0x9e3779b9) | 0;
  let z = next;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [next, (z ^ (z >>> 16)) >>> 0];
}

const TWO_POW_32 = 4294967296;

export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  /** `stream` gives independent sequences for one seed (e.g. one per epoch). */
  constructor(seed: number, stream = 0) {
    if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(stream)) {
      throw new RangeError(`Rng: seed and stream must be safe integers, got ${seed}, ${stream}`);
    }
    // Fold all of seed's and stream's bits into the splitmix state, so nearby seeds give unrelated streams.
    let state = 0;
    const words = [
      seed % TWO_POW_32,
      Math.floor(seed / TWO_POW_32),
      stream % TWO_POW_32,
      Math.floor(stream / TWO_POW_32),
    ];
    for (const w of words) [state] = splitmix32((state ^ w) | 0);
    const out: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, value] = splitmix32(state);
      state = next;
      out.push(value);
    }
    [this.#s0, this.#s1, this.#s2, this.#s3] = out as [number, number, number, number];
    // xoshiro's all-zero state is a fixed point; splitmix32 output makes it vanishingly unlikely, but be sure.
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** A uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s1 = this.#s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    return result;
  }

  /** A uniform float in [0, 1). */
  nextFloat(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** A uniform integer in [0, n), without modulo bias. */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32)
      throw new RangeError(`nextInt(n): n must be in [1, 2^32], got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let r = this.nextUint32();
    while (r >= limit) r = this.nextUint32();
    return r % n;
  }

  /** Shuffles in place (Fisher–Yates) and returns the array. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = a[i]!;
      a[i] = a[j]!;
      a[j] = tmp;
    }
    return a;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
