// Kubernetes objects checked offline against the API's schema, with kubernetes-models (its types and validators are
// generated from the Kubernetes OpenAPI spec). kubectl cannot do it here: every `kubectl create|apply --dry-run=client`
// asks a server for the API's discovery and OpenAPI documents. Two passes, because each misses what the other sees:
// the models' validators check types, enums and formats but let unknown fields through (the spec does not forbid
// them), and TypeScript's excess-property check on an object literal typed with the model's interface reports
// every unknown or misspelt field.
import { join } from "node:path";
import { Deployment } from "kubernetes-models/apps/v1";
import { Job } from "kubernetes-models/batch/v1";
import { PersistentVolumeClaim, Service } from "kubernetes-models/v1";
import ts from "typescript";

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  // biome-ignore lint/suspicious/noExplicitAny: a parsed manifest, checked by schemaProblems before it is read
  spec?: any;
}

interface Model {
  validate(): void;
}

/** The kinds the manifests use: the model's class and where its interface is declared. */
const MODELS: Record<string, { make: (o: object) => Model; module: string; type: string }> = {
  "apps/v1/Deployment": { make: (o) => new Deployment(o as never), module: "apps/v1/Deployment", type: "IDeployment" },
  "batch/v1/Job": { make: (o) => new Job(o as never), module: "batch/v1/Job", type: "IJob" },
  "v1/PersistentVolumeClaim": {
    make: (o) => new PersistentVolumeClaim(o as never),
    module: "v1/PersistentVolumeClaim",
    type: "IPersistentVolumeClaim",
  },
  "v1/Service": { make: (o) => new Service(o as never), module: "v1/Service", type: "IService" },
};

const keyOf = (o: K8sObject) => `${o.apiVersion}/${o.kind}`;
const what = (o: K8sObject) => `${o.kind} ${o.metadata?.name ?? "(no name)"}`;

/** Every schema problem of the objects, one line each naming the object; [] when they all conform. */
export function schemaProblems(objects: readonly K8sObject[], root: string): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const model = MODELS[keyOf(o)];
    if (!model) {
      problems.push(`${what(o)}: no schema for ${keyOf(o)} here (add its model to test/deploy/k8s-schema.ts)`);
      continue;
    }
    try {
      model.make(o).validate();
    } catch (e) {
      problems.push(`${what(o)}: ${(e as Error).message}`);
    }
  }
  const known = objects.filter((o) => MODELS[keyOf(o)]);
  return [...problems, ...typeProblems(known, root)];
}

/** TypeScript's diagnostics of `const oK: IKind = <object K>` for each object, compiled in memory. */
function typeProblems(objects: readonly K8sObject[], root: string): string[] {
  const file = join(root, "k8s-manifests.check.ts");
  const lines: string[] = [];
  const owner: K8sObject[] = [];
  objects.forEach((o, k) => {
    const m = MODELS[keyOf(o)]!;
    lines.push(`import type { ${m.type} as T${k} } from "kubernetes-models/${m.module}";`);
    owner.push(o);
  });
  const firstLine: number[] = [];
  objects.forEach((o, k) => {
    firstLine.push(lines.length);
    lines.push(...`export const o${k}: T${k} = ${JSON.stringify(o, null, 1)};`.split("\n"));
  });
  const source = lines.join("\n");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const { getSourceFile, fileExists, readFile } = host;
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : getSourceFile.call(host, name, lang, ...rest);
  host.fileExists = (name) => name === file || fileExists.call(host, name);
  host.readFile = (name) => (name === file ? source : readFile.call(host, name));
  const program = ts.createProgram([file], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, " ");
    if (d.file?.fileName !== file || d.start === undefined) return `type check: ${text}`;
    const line = d.file.getLineAndCharacterOfPosition(d.start).line;
    const k = firstLine.filter((first) => first <= line).length - 1;
    return `${k >= 0 ? what(owner[k]!) : "imports"}: ${text}`;
  });
}
