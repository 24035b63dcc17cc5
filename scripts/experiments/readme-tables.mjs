// Writes the README's result tables from the committed rows (results/*.json). Each region of README.md between
// `<!-- results:NAME -->` and `<!-- /results:NAME -->` is generated here: every number in it is read from a row
// (the labels below name settings, never numbers), so the README cannot say what its rows do not.
// Usage: node scripts/experiments/readme-tables.mjs [--check] [--readme FILE] [--results DIR]
// --check writes nothing and exits 1 naming each region that differs from its rows (the test runs it).
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";

const AUGMENT = { authors: "the authors' augmentation", quarter: "quarter-side augmentation", none: "no augmentation" };
const MODEL = {
  "smallcnn-bn": "SmallCNN-BN",
  smallcnn: "SmallCNN",
  resnet18: "ResNet-18",
  vgg11: "VGG-11",
  "pytorch-examples-mnist": "plain PyTorch",
};
const METHOD = {
  clean: "clean",
  targeted: "class-targeted (Fowl et al.)",
  untargeted: "untargeted (Fowl et al.)",
  random: "random noise",
  "error-min": "error-min (Huang et al.)",
  tensorclog: "TensorClog (Shen et al.)",
  lsp: "LSP (Yu et al.)",
  ops: "OPS (Wu et al.)",
};
const SUPERSCRIPT = ["¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"];

const pct = (x, digits = 2) => `${(x * 100).toFixed(digits)} %`;
const thousands = (n) => (n % 1000 === 0 ? `${n / 1000}k` : String(n));
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;
const named = (table, key) => {
  const name = table[key];
  if (name === undefined) throw new Error(`readme-tables: no name for '${key}'`);
  return name;
};
const markdown = (header, rows) =>
  [header, header.map(() => "---"), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n");

// ---- results/fashion-mnist.json -------------------------------------------------------------------------------

const rowKey = (r) => `${r.recipe}|${r.eps}|${r.variant ?? ""}`;
/** The release directory a crafted row's victim trained on, as the efficacy script names it. */
const releaseName = (r) => `${r.recipe}-eps${r.eps}${r.variant ? `-${r.variant}` : ""}`;

/** How a row's poisons were made, in words and the row's own numbers. */
function settingsOf(r) {
  const s = r.settings;
  switch (r.method) {
    case "random":
      return `${s.noise} in the ε ball`;
    case "lsp":
      return s.published;
    case "ops":
      return `${s.published}; ${s.budget}`;
    case "error-min":
      return (
        `${s.train_steps} model steps and ${r.steps} PGD steps of ${s.tau}·ε a round until its model is at ` +
        `${pct(s.stop_acc, 0)} on the poisons, at most ${s.max_rounds} rounds: ${plural(r.rounds, "round")}, ` +
        `${pct(r.min_min_acc)}; crafted in ${r.precision}`
      );
    case "tensorclog":
      return (
        `${r.steps} steps of ${s.tau}·ε, batch ${s.batch}, crafting model of ${s.crafter_epochs} epochs; ` +
        `crafted in ${r.precision}`
      );
    default: {
      const crafters = (s.crafters ?? ["smallcnn-bn"]).map((m) => named(MODEL, m)).join(" + ");
      return (
        `${r.steps} steps of ${s.tau}·ε, ${plural(s.restarts, "restart")}, ${named(AUGMENT, s.augment)}, ` +
        `crafting model ${crafters} (${s.crafter_epochs} epochs); crafted in ${r.precision}`
      );
    }
  }
}

/** The heading of each column an efficacy table can have. */
const HEADING = {
  method: "method",
  settings: "settings",
  release: "release",
  eps: "ε",
  images: "training images",
  victim: "victim",
  final: "final",
  peak: "peak (epoch)",
  clean: "clean, same victim",
  success: "attack success",
  time: "crafting time",
  measured: "measured",
};

/** One efficacy table: `keys` name its rows ("recipe|eps|variant"; a leading * sets the final in bold). */
function efficacyTable(rows, columns, keys) {
  const byKey = new Map(rows.map((r) => [rowKey(r), r]));
  const notes = [];
  const mark = (text) => {
    if (!notes.includes(text)) notes.push(text);
    if (notes.length > SUPERSCRIPT.length) throw new Error("readme-tables: more footnotes than superscripts");
    return SUPERSCRIPT[notes.indexOf(text)];
  };
  /** The clean victim trained like `r`'s: same model, trainer, epochs, precision and images. */
  const cleanOf = (r) => {
    const same = rows.filter(
      (c) =>
        c.method === "clean" &&
        c.victim === r.victim &&
        c.trainer === r.trainer &&
        c.victim_epochs === r.victim_epochs &&
        c.victim_precision === r.victim_precision &&
        c.subset === r.subset,
    );
    const seeded = same.filter((c) => c.victim_seed === r.victim_seed);
    if (seeded.length === 1) return pct(seeded[0].test_acc);
    if (same.length === 1)
      return `${pct(same[0].test_acc)}${mark(`the clean victim's seed is ${same[0].victim_seed}`)}`;
    throw new Error(`readme-tables: ${same.length} clean rows match ${rowKey(r)}`);
  };
  let crafted;
  const cells = {
    method: (r) => named(METHOD, r.method),
    settings: settingsOf,
    release: (r) => {
      if (!r.release) {
        crafted = r;
        return settingsOf(r);
      }
      if (!crafted || r.release !== releaseName(crafted))
        throw new Error(`readme-tables: ${rowKey(r)} trained on ${r.release}, not on the release above it`);
      return "the release above";
    },
    eps: (r) => (r.method === "ops" ? "–" : `${r.eps}/255`),
    images: (r) =>
      r.release_images
        ? `first ${thousands(r.subset)} of ${thousands(r.release_images)}`
        : r.subset
          ? thousands(r.subset)
          : "all",
    victim: (r) =>
      `${named(MODEL, r.victim)}, ${r.victim_epochs} epochs` +
      (r.victim_precision === "fp32" ? "" : `, ${r.victim_precision}`) +
      (r.victim_seed === 1 ? "" : `, seed ${r.victim_seed ?? "not recorded"}`),
    final: (r, bold) => (bold ? `**${pct(r.test_acc)}**` : pct(r.test_acc)),
    peak: (r) => `${pct(r.peak_test_acc)} (${r.peak_epoch})`,
    clean: cleanOf,
    success: (r) => (r.release ? "–" : pct(r.attack_success, 1)),
    time: (r) => (r.release ? "–" : `${r.craft_seconds} s${r.note ? mark(r.note) : ""}`),
    measured: (r) => r.date,
  };
  const body = keys.map((spec) => {
    const bold = spec.startsWith("*");
    const r = byKey.get(bold ? spec.slice(1) : spec);
    if (!r) throw new Error(`readme-tables: no row ${spec}`);
    return columns.map((c) => cells[c](r, bold));
  });
  const footnotes = notes.map((n, i) => `${SUPERSCRIPT[i]} ${n}.`);
  const header = columns.map((c) => named(HEADING, c));
  return [markdown(header, body), ...(footnotes.length ? ["", footnotes.join("\n")] : [])].join("\n");
}

const EFFICACY = {
  push: {
    columns: ["release", "eps", "victim", "final", "peak", "clean", "success", "time"],
    keys: [
      "*targeted|8|authors-ens2",
      "targeted|8|authors-ens2-seed2",
      "targeted|8|authors-ens2-victim10ep",
      "targeted|8|authors-ens2-torch-victim",
      "*targeted|16|authors",
      "targeted|16|authors-seed2",
      "targeted|16|authors-victim10ep",
      "targeted|16|authors-torch-victim",
      "targeted|16|authors-ens2-s100",
      "targeted|16|authors-ens2-s100-torch-victim",
    ],
  },
  baselines: {
    columns: ["method", "settings", "eps", "images", "final", "peak", "clean", "time"],
    keys: [
      "random|8|",
      "random|16|",
      "error-min|8|published-3rounds-20k",
      "error-min|16|published-3rounds-20k",
      "*error-min|8|published-20k",
      "*error-min|16|published-20k",
      "*error-min|8|published",
      "*error-min|16|published",
      "tensorclog|8|published-10k",
      "tensorclog|16|published-10k",
      "tensorclog|8|published",
      "tensorclog|16|published",
      "tensorclog|8|",
      "tensorclog|16|",
      "lsp|8|",
      "lsp|16|",
      "lsp|8|l2",
      "lsp|16|l2",
      "ops|255|",
    ],
  },
  ablations: {
    columns: ["settings", "eps", "images", "victim", "final", "peak", "clean", "success", "time"],
    keys: [
      "targeted|8|20k-authors-s40",
      "targeted|8|20k-quarter-s40",
      "targeted|8|20k-none-s40",
      "targeted|8|20k-authors-s100-tau0.05",
      "targeted|8|20k-authors-s250-tau0.05",
      "targeted|8|20k-authors-s40-r2",
      "targeted|8|20k-authors-s40-ens2",
    ],
  },
  transfer: {
    columns: ["victim", "images", "final", "peak", "clean"],
    keys: [
      "*targeted|8|authors-ens2-victim10k-resnet18-5ep",
      "*targeted|8|authors-ens2-victim10k-resnet18-10ep",
      "targeted|8|authors-ens2-victim10k-smallcnn-bn-5ep",
      "targeted|8|authors-ens2-victim10k-smallcnn-bn-10ep",
    ],
  },
  earlier: {
    columns: ["method", "settings", "eps", "images", "final", "peak", "clean", "time", "measured"],
    keys: [
      "untargeted|8|",
      "untargeted|16|",
      "targeted|8|",
      "targeted|16|",
      "targeted|8|crafter10",
      "targeted|16|crafter10",
      "error-min|8|",
      "error-min|16|",
      "targeted|8|10k-fp32",
      "targeted|8|10k-bf16",
    ],
  },
};

// ---- results/experiments.json, labels.json, benchmarks.json ----------------------------------------------------

/** The accuracy of one summary row: mean ± sd over its victims, and the peak where it was recorded. */
function summaryAccuracy(row) {
  if (row.skipped) return `skipped (${row.skipped})`;
  const mean =
    row.runs > 1 ? `${pct(row.test_acc_mean, 1).slice(0, -2)} ± ${pct(row.test_acc_sd, 1)}` : pct(row.test_acc_mean, 1);
  const peak =
    row.peak_test_acc_mean === undefined || row.peak_test_acc_mean === row.test_acc_mean
      ? ""
      : ` (peak ${pct(row.peak_test_acc_mean, 1)})`;
  return mean + peak;
}

/** A summary row's condition in words, from its own cells. */
function conditionOf(experiment, row) {
  if (row.condition === "clean") return "clean";
  switch (experiment) {
    case "methods":
      return named(METHOD, row.method).replace(/ \(.*\)$/, "");
    case "eps":
      return `ε ${row.eps}`;
    case "budget":
      return row.budget === "0%" ? "nothing poisoned" : `${row.budget} poisoned`;
    case "labels":
      return `release labelled ${row.labels}`;
    case "transfer":
      return `${named(MODEL, row.victim)} on ${row["trained on"]} (${row.images} images, ${row.epochs} epochs)`;
    case "defenses":
      return row.condition === "defense-none" ? "no defence" : row.settings;
    default:
      throw new Error(`readme-tables: no wording for the ${experiment} experiment`);
  }
}

function experimentsTable(experiments) {
  const body = Object.entries(experiments).map(([name, e]) => {
    const kind = e.config.poison.augmentKind;
    const about = [
      e.updated.slice(0, 10),
      kind ? named(AUGMENT, kind) : "augmentation kind not recorded",
      `${plural(e.config.runs, "victim")} per condition (${e.victim_seeds.length === 1 ? "seed" : "seeds"} ` +
        `${e.victim_seeds.join(", ")})`,
      plural(e.threads, "thread"),
    ];
    const conditions = e.summary.map((row) => `${conditionOf(e.config.experiment, row)}: ${summaryAccuracy(row)}`);
    return [`${name} (${about.join("; ")})`, conditions.join(", ")];
  });
  return markdown(["entry", "condition: victims' clean test accuracy, mean ± sd (peak where recorded)"], body);
}

function labelsTable(rows) {
  const releases = [...new Set(rows.map((r) => `${r.eps}|${r.steps}`))];
  const body = releases.map((release) => {
    const of = rows.filter((r) => `${r.eps}|${r.steps}` === release);
    const success = new Set(of.map((r) => r.attack_success));
    if (success.size !== 1) throw new Error(`readme-tables: labels rows of ${release} differ in attack success`);
    const cell = (labels) => {
      const r = of.find((x) => x.labels === labels);
      return r ? `${pct(r.test_acc, 1)} (${pct(r.peak_test_acc, 1)})` : "–";
    };
    return [
      `${of[0].eps}/255`,
      of[0].steps,
      pct(of[0].attack_success, 1),
      cell("original"),
      cell("permuted"),
      cell("predicted"),
    ];
  });
  return markdown(
    ["ε", "steps", "attack success", "labelled y: final (peak)", "labelled π(y)", "labelled by the crafting model"],
    body,
  );
}

function benchmarksTables(rows) {
  const vs = (speedup, ours, torch) => `${speedup}× (${ours} s vs ${torch} s)`;
  const precision = rows
    .filter((r) => r.ours_fp32_s !== undefined)
    .map((r) => [
      r.case,
      vs(r.speedup_fp32_vs_torch_fp32, r.ours_fp32_s, r.torch_fp32_s),
      vs(r.speedup_bf16_vs_torch_bf16, r.ours_bf16_s, r.torch_bf16_s),
      vs(r.speedup_bf16_vs_torch_fp32, r.ours_bf16_s, r.torch_fp32_s),
      r.threads,
      r.date,
    ]);
  const codec = rows
    .filter((r) => r.purejs_photos_per_s !== undefined)
    .map((r) => [
      r.case,
      r.photo,
      r.purejs_photos_per_s,
      r.sharp_photos_per_s,
      `${r.speedup}×`,
      r.sharp_threads,
      r.date,
    ]);
  return [
    markdown(
      [
        "case",
        "fp32: ours vs PyTorch",
        "bf16: ours vs PyTorch",
        "ours in bf16 vs PyTorch in fp32",
        "threads",
        "measured",
      ],
      precision,
    ),
    "",
    markdown(
      ["case", "photo", "pure JS photos/s", "sharp photos/s", "sharp's speedup", "sharp threads", "measured"],
      codec,
    ),
  ].join("\n");
}

// ---- results/audit.json ----------------------------------------------------------------------------------------

/** The images an audited release holds: "all images" or "first 10k images". */
const images = (a) => `${a.release.subset === null ? "all" : `first ${thousands(a.release.subset)}`} images`;
const auditName = (a) =>
  `${named(METHOD, a.release.method)} ε ${a.release.eps}/255, ${a.release.steps} steps, ${images(a)}`;
const points = (x) => `${(x * 100).toFixed(1)} points`;

/** One line per audit (what a determined trainer still gets), then every defence's early-stopped score. */
function auditTables(audits) {
  const summary = audits.map((a) => [
    auditName(a),
    pct(a.clean_acc, 1),
    pct(a.plain_stopped_acc, 1),
    `${pct(a.worst_case_acc, 1)} (${a.worst_case.defense}, ${named(MODEL, a.worst_case.victim)})`,
    points(a.protection),
    `${a.epochs} epochs, seeds ${a.victim_seeds.join(", ")}`,
    a.threads ?? "not recorded",
    a.date,
    independentVictim(a),
  ]);
  const rowKey = (r) => `${r.defense}|${r.victim}`;
  const keys = [...new Set(audits.flatMap((a) => a.rows.map(rowKey)))];
  const cell = (a, key) => {
    const r = a.rows.find((x) => rowKey(x) === key);
    return r ? `${pct(r.stopped, 1)} (clean ${pct(r.clean_stopped, 1)})` : "—";
  };
  const rows = keys.map((key) => {
    const victim = key.split("|")[1];
    const settings = audits.flatMap((a) => a.rows).find((r) => rowKey(r) === key).settings;
    return [
      `${settings}${victim === audits[0].victims[0] ? "" : `, ${named(MODEL, victim)} victim`}`,
      ...audits.map((a) => cell(a, key)),
    ];
  });
  return [
    markdown(
      [
        "release",
        "clean",
        "plain victim, stopped early",
        "worst case",
        "protection",
        "victims",
        "threads",
        "measured",
        "PyTorch victim, peak",
      ],
      summary,
    ),
    "",
    markdown(["defence", ...audits.map(auditName)], rows),
  ].join("\n");
}

/** The independent PyTorch victim's best epoch on an audited release, beside its clean one (independent-victim.mjs). */
const independentVictim = (a) =>
  a.independent_victim
    ? `${pct(a.independent_victim.peak, 1)} (clean ${pct(a.independent_victim.clean_peak, 1)})`
    : "—";

/** A labelled audit's release: its levers, ε, steps and images. */
const leverName = (a) =>
  `${a.release.label} (ε ${a.release.eps}${a.release.steps > 0 ? `, ${a.release.steps} step${a.release.steps === 1 ? "" : "s"}` : ""}, ${images(a)})`;

/**
 * The lever ablations: one row per labelled audit (a release crafted to hold against the audit, and the plain
 * release it is compared with under the same battery), each defence's early-stopped score on the release.
 */
function leverTable(audits) {
  const defenses = [...new Set(audits.flatMap((a) => a.rows.map((r) => `${r.defense}|${r.victim}`)))];
  const header = (key) => {
    const [defense, victim] = key.split("|");
    return victim === audits[0].victims[0] ? defense : `${defense} (${named(MODEL, victim)})`;
  };
  const rows = audits.map((a) => [
    leverName(a),
    pct(a.clean_acc, 1),
    // Methods without an attack (random, LSP) record no attack success.
    typeof a.release.options.attack_success === "number" ? pct(a.release.options.attack_success, 1) : "—",
    ...defenses.map((key) => {
      const r = a.rows.find((x) => `${x.defense}|${x.victim}` === key);
      return r ? pct(r.stopped, 1) : "—";
    }),
    `**${pct(a.worst_case_acc, 1)}**`,
    points(a.protection),
    independentVictim(a),
  ]);
  const columns = ["release", "clean", "attack success", ...defenses.map(header), "worst case", "protection"];
  return markdown([...columns, "PyTorch victim, peak"], rows);
}

/**
 * What of each audited release's perturbation reaches a victim through the defences that are functions of the
 * images (the audit's survival table): the share of pixel values still changed, and their mean change.
 */
function survivalTable(audits) {
  const measured = audits.filter((a) => a.survival);
  const defenses = [...new Set(measured.flatMap((a) => a.survival.map((r) => r.defense)))];
  const rows = measured.map((a) => [
    a.release.label ? leverName(a) : auditName(a),
    ...defenses.map((d) => {
      const r = a.survival.find((x) => x.defense === d);
      return r ? `${pct(r.changed, 1)} · ${r.mean_abs.toFixed(1)}` : "—";
    }),
    `${a.worst_case.defense} ${pct(a.worst_case_acc, 1)}`,
  ]);
  return markdown(["release", ...defenses.map((d) => (d === "none" ? "as released" : d)), "worst case"], rows);
}

// ---- regions ---------------------------------------------------------------------------------------------------

/** NAME -> the generated text of region NAME, from the results directory `dir`. */
function generate(dir) {
  const read = (file) => JSON.parse(readFileSync(join(dir, file), "utf-8"));
  const efficacy = read("fashion-mnist.json");
  const regions = new Map(
    Object.entries(EFFICACY).map(([name, t]) => [name, efficacyTable(efficacy, t.columns, t.keys)]),
  );
  regions.set("experiments", experimentsTable(read("experiments.json")));
  regions.set("labels", labelsTable(read("labels.json")));
  regions.set("benchmarks", benchmarksTables(read("benchmarks.json")));
  const audits = read("audit.json");
  regions.set("audit", auditTables(audits.filter((a) => a.release.label === undefined)));
  regions.set("levers", leverTable(audits.filter((a) => a.release.label !== undefined)));
  regions.set("survival", survivalTable(audits));
  return regions;
}

const REGION = /(<!-- results:([a-z-]+) -->\n)([\s\S]*?)(<!-- \/results:\2 -->)/g;

/** `readme` with every region replaced by its generated text, and the names of the regions that changed. */
function rewrite(readme, regions) {
  const seen = new Set();
  const changed = [];
  const text = readme.replace(REGION, (_all, open, name, old, close) => {
    const body = regions.get(name);
    if (body === undefined) throw new Error(`readme-tables: README has a region '${name}' that nothing generates`);
    seen.add(name);
    if (old !== `${body}\n`) changed.push(name);
    return `${open}${body}\n${close}`;
  });
  const missing = [...regions.keys()].filter((n) => !seen.has(n));
  if (missing.length) throw new Error(`readme-tables: README lacks the regions ${missing.join(", ")}`);
  return { text, changed };
}

const { values } = parseArgs({
  options: {
    check: { type: "boolean", default: false },
    readme: { type: "string", default: "README.md" },
    results: { type: "string", default: "results" },
  },
});
try {
  const { text, changed } = rewrite(readFileSync(values.readme, "utf-8"), generate(values.results));
  if (values.check) {
    if (changed.length) {
      console.error(
        `readme-tables: ${values.readme}: regions ${changed.join(", ")} differ from the rows in ${values.results}/ ` +
          "(node scripts/experiments/readme-tables.mjs rewrites them)",
      );
      process.exit(1);
    }
  } else {
    writeFileSync(`${values.readme}.tmp`, text);
    renameSync(`${values.readme}.tmp`, values.readme);
    console.log(`${values.readme}: ${changed.length ? `rewrote ${changed.join(", ")}` : "up to date"}`);
  }
} catch (e) {
  console.error(e.message);
  process.exit(1);
}
