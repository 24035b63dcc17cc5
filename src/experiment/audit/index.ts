// `advpoison audit`: what a determined trainer still gets from a release.
export { AUDIT_DEFENSES, AUDIT_EPOCHS, type AuditRowPlan, auditRows, checkVictims, defaultVictims } from "./battery.js";
export { type AuditInputs, type AuditSource, openAuditInputs } from "./check.js";
export { auditReport } from "./report.js";
export { AUDIT_JSON, type AuditOptions, type AuditResult, type AuditRow, runAudit, SPLIT_NOTE } from "./run.js";
export { perturbationSurvival, type SurvivalRow } from "./survival.js";
