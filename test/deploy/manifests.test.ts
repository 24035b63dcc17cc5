// deploy/ read as a cluster and compose would, without either (offline): every Kubernetes object conforms to the
// API's schema (k8s-schema.ts), the kustomization lists every manifest, and the pieces fit together: the workers and
// the enqueue reach the Redis Service and share one volume at their --shared, the release lies inside it, nothing
// runs `advpoison merge` (a merge Job cannot wait for the craft: the queue's release job writes the release), and
// the advpoison containers run as the image's non-root user with only their volumes writable. compose.yaml is
// held to the same. Nothing here is applied to a cluster or started by compose (scripts/container-e2e.sh runs the
// containers with podman).
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, test } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { type K8sObject, schemaProblems } from "./k8s-schema.js";

const ROOT = process.cwd();
const K8S = join(ROOT, "deploy", "kubernetes");
const TIMEOUT = 120_000;

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, asserted on field by field
type Yaml = any;

const yamlDocs = (file: string): Yaml[] =>
  parseAllDocuments(readFileSync(file, "utf8")).map((d) => {
    assert.equal(d.errors.length, 0, `${relative(ROOT, file)}: ${d.errors.map((e) => e.message).join("; ")}`);
    return d.toJS();
  });

/** The uid the image runs as: the Containerfile's last USER line. */
function imageUid(): number {
  const users = [...readFileSync(join(ROOT, "deploy", "Containerfile"), "utf8").matchAll(/^USER\s+(\d+)/gm)];
  assert.ok(users.length > 0, "deploy/Containerfile has no numeric USER");
  return Number(users.at(-1)![1]);
}

/** `--name value` or `--name=value` in an argument list. */
function option(args: readonly string[], name: string): string | undefined {
  const k = args.findIndex((a) => a === name || a.startsWith(`${name}=`));
  if (k < 0) return undefined;
  return args[k]!.includes("=") ? args[k]!.slice(name.length + 1) : args[k + 1];
}

/** The advpoison command lines of a pod or service: its args, or the words of its `sh -c` script. */
const words = (args: readonly string[]): string[] => args.flatMap((a) => a.split(/\s+/)).filter(Boolean);

const inside = (dir: string, p: string) => resolve(p).startsWith(`${resolve(dir)}/`);

describe("deploy/ offline", { timeout: TIMEOUT }, () => {
  const kustomization = parse(readFileSync(join(K8S, "kustomization.yaml"), "utf8")) as Yaml;
  const objects: K8sObject[] = (kustomization.resources as string[]).flatMap((f) => yamlDocs(join(K8S, f)));
  const named = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);
  const pods = objects.filter((o) => o.kind === "Deployment" || o.kind === "Job");
  const podSpec = (o: K8sObject) => o.spec.template.spec;
  const advpoisonPods = pods.filter((o) => podSpec(o).containers.some((c: Yaml) => c.image === "advpoison"));

  test("the kustomization lists every manifest in deploy/kubernetes, and sets the image's tag", () => {
    const files = readdirSync(K8S).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml");
    assert.deepEqual([...kustomization.resources].sort(), files.sort());
    assert.deepEqual(kustomization.images, [{ name: "advpoison", newTag: "latest" }]);
  });

  test("every object conforms to the Kubernetes API's schema (types, enums, no unknown fields)", () => {
    assert.deepEqual(schemaProblems(objects, ROOT), []);
  });

  test("the volumes pods mount are the claims the manifests make", () => {
    for (const o of pods)
      for (const v of podSpec(o).volumes ?? [])
        if (v.persistentVolumeClaim)
          assert.ok(
            named("PersistentVolumeClaim", v.persistentVolumeClaim.claimName),
            `${o.kind} ${o.metadata.name} mounts the claim ${v.persistentVolumeClaim.claimName}, which no manifest makes`,
          );
  });

  test("workers and the enqueue reach Redis's Service, share one volume at --shared, and the release is inside", () => {
    const worker = named("Deployment", "advpoison-worker");
    const enqueue = named("Job", "advpoison-enqueue");
    assert.ok(worker && enqueue, "a Deployment advpoison-worker and a Job advpoison-enqueue");
    const shared: string[] = [];
    for (const [o, name] of [
      [worker, "worker"],
      [enqueue, "enqueue"],
    ] as const) {
      const c = podSpec(o).containers.find((x: Yaml) => x.name === name);
      const args: string[] = c.args;
      const url = new URL(option(args, "--queue") ?? "");
      const service = named("Service", url.hostname);
      assert.ok(service, `${name}: --queue ${url} names no Service`);
      assert.ok(
        service.spec.ports.some((p: Yaml) => p.port === Number(url.port)),
        `${name}: Service ${url.hostname} has no port ${url.port}`,
      );
      const redis = objects.find(
        (x) => x.kind === "Deployment" && x.spec.template.metadata.labels.app === service.spec.selector.app,
      );
      assert.ok(redis, `Service ${url.hostname} selects no Deployment`);
      const dir = option(args, "--shared")!;
      const mount = c.volumeMounts.find((m: Yaml) => m.mountPath === dir);
      assert.ok(mount, `${name}: --shared ${dir} is not a volume mount`);
      const volume = podSpec(o).volumes.find((v: Yaml) => v.name === mount.name);
      shared.push(volume.persistentVolumeClaim?.claimName);
      if (name === "enqueue") {
        assert.ok(inside(dir, option(args, "--out")!), `the release ${option(args, "--out")} is outside ${dir}`);
        assert.ok(inside(dir, option(args, "--crafter")!), "the crafting model is on the shared volume");
        const train = words(podSpec(o).initContainers[0].args);
        assert.equal(option(train, "--out"), join(option(args, "--crafter")!, ".."), "the init container trains it");
      }
    }
    assert.equal(new Set(shared).size, 1, `one shared claim for workers and the enqueue, not ${shared.join(", ")}`);
    assert.ok(shared[0], "the shared directory is a PersistentVolumeClaim");
  });

  test("no pod runs `advpoison merge`: the queue's release job writes the release once every chunk is done", () => {
    for (const o of pods)
      for (const c of [...(podSpec(o).initContainers ?? []), ...podSpec(o).containers])
        assert.ok(
          !words([...(c.command ?? []), ...(c.args ?? [])]).includes("merge"),
          `${o.kind} ${o.metadata.name} runs merge`,
        );
  });

  test("advpoison pods run as the image's non-root user, with only their volumes writable", () => {
    const uid = imageUid();
    assert.ok(uid > 0);
    assert.ok(advpoisonPods.length >= 2);
    for (const o of advpoisonPods) {
      const spec = podSpec(o);
      assert.equal(spec.securityContext?.runAsNonRoot, true, `${o.metadata.name}: runAsNonRoot`);
      assert.equal(spec.securityContext?.runAsUser, uid, `${o.metadata.name}: runAsUser is the image's ${uid}`);
      assert.equal(spec.securityContext?.fsGroup, uid, `${o.metadata.name}: fsGroup makes the volume writable`);
      for (const c of [...(spec.initContainers ?? []), ...spec.containers])
        assert.equal(c.securityContext?.readOnlyRootFilesystem, true, `${o.metadata.name}/${c.name}: read-only root`);
    }
  });

  test("compose.yaml: its image is built from deploy/Containerfile; workers and enqueue share Redis and /shared", () => {
    const [compose] = yamlDocs(join(ROOT, "deploy", "compose.yaml"));
    const { redis, worker, enqueue } = compose.services;
    assert.ok(existsSync(resolve(ROOT, "deploy", worker.build.context, worker.build.dockerfile)));
    assert.equal(enqueue.image, worker.image);
    assert.ok(redis.command.join(" ").includes("--appendonly yes"), "Redis keeps an append-only file");
    assert.ok(
      redis.volumes.some((v: string) => v.endsWith(":/data") && v.split(":")[0]! in compose.volumes),
      "Redis's /data is a named volume",
    );
    for (const [name, s, args] of [
      ["worker", worker, worker.command as string[]],
      ["enqueue", enqueue, words(enqueue.command)],
    ] as const) {
      const url = new URL(option(args, "--queue") ?? "");
      assert.ok(url.hostname in compose.services, `${name}: --queue ${url} names no service`);
      const dir = option(args, "--shared")!;
      const mount = (s.volumes as string[]).find((v) => v.split(":")[1] === dir);
      assert.ok(mount && mount.split(":")[0]! in compose.volumes, `${name}: --shared ${dir} is a named volume`);
      assert.equal(s.read_only, true, `${name}: read-only root`);
    }
    assert.ok(inside(option(words(enqueue.command), "--shared")!, option(words(enqueue.command), "--out")!));
  });
});
