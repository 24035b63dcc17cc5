import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as torch from "../../src/torch/index.js";

describe("scope", () => {
  test("frees what it created and keeps what it returns", () => {
    let temp: torch.Tensor | undefined;
    const out = torch.scope(() => {
      temp = torch.ones([3]);
      return temp.mul(2);
    });
    assert.equal(temp?.isDisposed, true);
    assert.equal(out.isDisposed, false);
    assert.deepEqual(out.toArray(), [2, 2, 2]);
  });

  test("keeps tensors returned inside nested arrays, plain objects and Maps", () => {
    const made: torch.Tensor[] = [];
    const make = (v: number): torch.Tensor => {
      const t = torch.full([1], v);
      made.push(t);
      return t;
    };
    const result = torch.scope(() => {
      make(-1);
      return { a: [make(1), [make(2)]], b: { c: make(3) }, d: new Map([["e", make(4)]]), n: 5 };
    });
    const [dropped, ...kept] = made;
    assert.equal(dropped?.isDisposed, true);
    assert.deepEqual(
      kept.map((t) => t.item()),
      [1, 2, 3, 4],
    );
    assert.deepEqual(result.a, [kept[0], [kept[1]]]);
    assert.equal(result.b.c, kept[2]);
    assert.equal(result.d.get("e"), kept[3]);
  });

  test("keeps tensors passed to keep(), even past the enclosing scopes", () => {
    let kept: torch.Tensor | undefined;
    let other: torch.Tensor | undefined;
    torch.scope(() => {
      torch.scope(() => {
        kept = torch.keep(torch.ones([2]));
        other = torch.ones([2]);
      });
    });
    assert.equal(kept?.isDisposed, false);
    assert.equal(other?.isDisposed, true);
    kept?.dispose();
  });

  test("leaves tensors made outside it alone", () => {
    const outside = torch.ones([2]);
    torch.scope(() => outside.add(1).sum());
    assert.equal(outside.isDisposed, false);
  });

  test("moves returned tensors to the enclosing scope, which frees them unless it returns them too", () => {
    let inner: torch.Tensor | undefined;
    let survivor: torch.Tensor | undefined;
    const outerResult = torch.scope(() => {
      inner = torch.scope(() => torch.ones([2]));
      assert.equal(inner.isDisposed, false, "alive in the enclosing scope");
      survivor = torch.scope(() => torch.zeros([2]));
      return survivor;
    });
    assert.equal(inner?.isDisposed, true);
    assert.equal(outerResult, survivor);
    assert.equal(survivor?.isDisposed, false);
  });

  test("frees everything when the function throws, and unwinds the scope stack", () => {
    let temp: torch.Tensor | undefined;
    assert.equal(torch.scopeDepth(), 0);
    assert.throws(
      () =>
        torch.scope(() => {
          temp = torch.ones([2]);
          torch.scope(() => {
            throw new Error("boom");
          });
        }),
      /boom/,
    );
    assert.equal(temp?.isDisposed, true);
    assert.equal(torch.scopeDepth(), 0);
  });

  test("a native error inside frees the scope's tensors too", () => {
    let temp: torch.Tensor | undefined;
    assert.throws(
      () =>
        torch.scope(() => {
          temp = torch.ones([2, 3]);
          return temp.matmul(temp);
        }),
      /^Error: matmul:/,
    );
    assert.equal(temp?.isDisposed, true);
  });

  test("refuses async functions, which would let other work's tensors into it", () => {
    assert.throws(() => torch.scope(async () => 1), /fn returned a Promise/);
    assert.equal(torch.scopeDepth(), 0);
  });

  test("a tensor disposed by hand inside a scope is fine when the scope closes", () => {
    const out = torch.scope(() => {
      const t = torch.ones([2]);
      t.dispose();
      return 7;
    });
    assert.equal(out, 7);
  });
});

describe("grad mode", () => {
  test("noGrad turns recording off inside and restores it after", () => {
    const x = torch.ones([2]).requiresGrad_();
    assert.equal(torch.isGradEnabled(), true);
    const y = torch.noGrad(() => {
      assert.equal(torch.isGradEnabled(), false);
      return x.mul(2);
    });
    assert.equal(y.requiresGrad, false);
    assert.equal(torch.isGradEnabled(), true);
    assert.equal(x.mul(2).requiresGrad, true);
  });

  test("noGrad restores grad mode when its function throws", () => {
    assert.throws(
      () =>
        torch.noGrad(() => {
          throw new Error("inside");
        }),
      /inside/,
    );
    assert.equal(torch.isGradEnabled(), true);
  });

  test("enableGrad inside noGrad records, and the outer mode comes back", () => {
    torch.noGrad(() => {
      const x = torch.ones([2]).requiresGrad_();
      assert.equal(torch.enableGrad(() => x.mul(2)).requiresGrad, true);
      assert.equal(torch.isGradEnabled(), false);
    });
    assert.equal(torch.isGradEnabled(), true);
  });
});

// Disposed tensors' memory must be reused at once, not when V8 collects their handles: the addon's caching
// CPU allocator (native/cpu_allocator.cc) guarantees it; with glibc's allocator alone RSS grew ~2 MB per
// iteration of these loops.
describe("native memory stays flat", () => {
  const MB = 1024 * 1024;
  const ITERATIONS = 2000;
  // 2000 iterations of 1 MB tensors would leak 2 GB; a few tens of MB is allocator noise.
  const SLACK = 64 * MB;

  /** RSS growth over the loop after a warm-up; stops early once past the slack, to keep a leak cheap. */
  function rssGrowth(iteration: () => void): { growth: number; iterations: number } {
    for (let i = 0; i < 100; i++) iteration();
    const before = process.memoryUsage().rss;
    let growth = 0;
    for (let i = 1; i <= ITERATIONS; i++) {
      iteration();
      if (i % 100 === 0 && (growth = process.memoryUsage().rss - before) > SLACK) return { growth, iterations: i };
    }
    return { growth, iterations: ITERATIONS };
  }

  function assertFlat({ growth, iterations }: { growth: number; iterations: number }): void {
    assert.ok(growth < SLACK, `rss grew by ${(growth / MB).toFixed(1)} MB in ${iterations} iterations`);
  }

  test("with scopes", () => {
    assertFlat(
      rssGrowth(() => {
        torch.scope(() => {
          const a = torch.ones([MB / 4]);
          return a.mul(2).add(a).sum().item();
        });
      }),
    );
  });

  test("with explicit dispose", () => {
    assertFlat(
      rssGrowth(() => {
        const a = torch.ones([MB / 4]);
        const b = a.mul(2);
        b.dispose();
        a.dispose();
      }),
    );
  });
});
