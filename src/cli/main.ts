#!/usr/bin/env node
// The advpoison command line.
import { Command } from "commander";
import { modelNames } from "../models/index.js";
import { torchVersion } from "../torch/index.js";
import { VERSION } from "../util/version.js";
import { registerAudit } from "./audit.js";
import { registerCraft } from "./craft.js";
import { registerDemo } from "./demo.js";
import { registerDownload } from "./download.js";
import { registerEvaluate } from "./evaluate.js";
import { registerExperiment } from "./experiment.js";
import { registerProtect } from "./protect.js";
import { registerQueue } from "./queue.js";
import { registerReport } from "./report.js";
import { registerTrain } from "./train.js";
import { registerVerify } from "./verify.js";
import { registerWorker } from "./worker.js";

const program = new Command()
  .name("advpoison")
  .description("Adversarial poisoning (Fowl et al., NeurIPS 2021): make image datasets unlearnable, and measure it.")
  .version(`${VERSION} (libtorch ${torchVersion})`)
  // A usage error is one line, prefixed like every other error ("advpoison: error: ..."); --help shows usage.
  .configureOutput({ outputError: (text, write) => write(`advpoison: ${text.trimEnd()} (see --help)\n`) });

registerTrain(program);
registerEvaluate(program);
registerCraft(program);
registerVerify(program);
registerDemo(program);
registerProtect(program);
registerDownload(program);
registerExperiment(program);
registerAudit(program);
registerReport(program);
registerWorker(program);
registerQueue(program);
program
  .command("models")
  .description("list the model architectures")
  .action(() => console.log(modelNames().join("\n")));

await program.parseAsync();
