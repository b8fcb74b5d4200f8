// src/core/registry/semver.ts
var NUM = "0|[1-9]\\d*";
var PRE_ID = `${NUM}|\\d*[a-zA-Z-][0-9a-zA-Z-]*`;
var BUILD_ID = "[0-9a-zA-Z-]+";
var SEMVER_PATTERN = `(?:${NUM})\\.(?:${NUM})\\.(?:${NUM})(?:-(?:${PRE_ID})(?:\\.(?:${PRE_ID}))*)?(?:\\+${BUILD_ID}(?:\\.${BUILD_ID})*)?`;
var SEMVER_RE = new RegExp(`^v(${NUM})\\.(${NUM})\\.(${NUM})(?:-((?:${PRE_ID})(?:\\.(?:${PRE_ID}))*))?(?:\\+(${BUILD_ID}(?:\\.${BUILD_ID})*))?$`);
function parseSemVer(text) {
  const m = SEMVER_RE.exec(text);
  if (!m) return null;
  return { major: m[1], minor: m[2], patch: m[3], prerelease: m[4] ? m[4].split(".") : [], build: m[5] ? m[5].split(".") : [], raw: text };
}
var isNumeric = (s) => /^\d+$/.test(s);
function compareDigits(a, b) {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
function compareIdentifiers(a, b) {
  const an = isNumeric(a);
  const bn = isNumeric(b);
  if (an && bn) return compareDigits(a, b);
  if (an !== bn) return an ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
function compareSemVer(a, b) {
  const core = compareDigits(a.major, b.major) || compareDigits(a.minor, b.minor) || compareDigits(a.patch, b.patch);
  if (core) return core;
  const ap = a.prerelease;
  const bp = b.prerelease;
  if (!ap.length || !bp.length) {
    if (ap.length !== bp.length) return ap.length ? -1 : 1;
  } else {
    for (let i = 0; i < Math.min(ap.length, bp.length); i++) {
      const c = compareIdentifiers(ap[i], bp[i]);
      if (c) return c;
    }
    if (ap.length !== bp.length) return ap.length < bp.length ? -1 : 1;
  }
  return a.raw < b.raw ? -1 : a.raw > b.raw ? 1 : 0;
}
function compareVersionText(a, b) {
  const sa = parseSemVer(a);
  const sb = parseSemVer(b);
  if (sa && sb) return compareSemVer(sa, sb);
  if (sa || sb) return sa ? 1 : -1;
  return a < b ? -1 : a > b ? 1 : 0;
}

// src/core/registry/tag.ts
var NAME = "[a-zA-Z0-9](?:[a-zA-Z0-9\\-/_]*[a-zA-Z0-9])?";
var DIRNAME = "[a-zA-Z0-9\\-_./]+";
var VERSION = `v${SEMVER_PATTERN}`;
var TAG_RE = new RegExp(
  `^((?:${DIRNAME}=)?${NAME})(?:(?:#(${NAME})|@(${VERSION}))(!?)|@(deprecated|created))(?:#([0-9]+))?$`
);
var NAME_RE = new RegExp(`^${NAME}$`);
var DIRNAME_RE = new RegExp(`^${DIRNAME}$`);
var VERSION_RE = new RegExp(`^${VERSION}$`);
var SEP_IN_NAME = ":";
var SEP_IN_TAG = "=";
function parseRegistryTag(name) {
  const m = TAG_RE.exec(name);
  if (!m || m[5] === "created") return null;
  const [, rawArtifact, stage, version, cancel, deprecated, counter] = m;
  const artifact = rawArtifact.replace(SEP_IN_TAG, SEP_IN_NAME);
  const out = deprecated ? { artifact, kind: "deprecate" } : stage !== void 0 ? { artifact, kind: cancel ? "unassign" : "assign", stage } : { artifact, kind: cancel ? "deregister" : "register", version };
  if (counter !== void 0) out.counter = Number(counter);
  return out;
}
function isCreationTag(name) {
  return TAG_RE.exec(name)?.[5] === "created";
}

// .scratch/fold-inst.ts
var PRIORITY = { deprecate: 2, register: 3, deregister: 4, assign: 5, unassign: 6 };
function compareEvents(a, b) {
  return a.time - b.time || PRIORITY[a.kind] - PRIORITY[b.kind] || (a.counter ?? -1) - (b.counter ?? -1) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0);
}
var short = (commit) => commit.slice(0, 7);
function foldRegistry(tags) {
  const warnings = [];
  const events = [];
  for (const t of tags) {
    const p = parseRegistryTag(t.tag);
    if (p) events.push(toRegistryEvent(t, p));
    else if (isCreationTag(t.tag)) warnings.push(creationWarning(t.tag));
  }
  const state = foldEvents(events);
  state.warnings.unshift(...warnings);
  return state;
}
var creationWarning = (tag) => `ignoring tag "${tag}": GTO's creation tags (NAME@created) are not supported; an artifact exists once it has a version or a stage`;
function toRegistryEvent(t, p) {
  return {
    tag: t.tag,
    time: t.time,
    commit: t.commit,
    tagger: t.tagger,
    email: t.email,
    message: t.message,
    artifact: p.artifact,
    kind: p.kind,
    version: p.version,
    stage: p.stage,
    counter: p.counter
  };
}
function foldEvents(events) {
  const problems = [];
  const byArtifact = /* @__PURE__ */ new Map();
  for (const e of events) {
    const list = byArtifact.get(e.artifact);
    if (list) list.push(e);
    else byArtifact.set(e.artifact, [e]);
  }
  const artifacts = /* @__PURE__ */ new Map();
  const used = /* @__PURE__ */ new Set();
  for (const [name, list] of byArtifact) {
    list.sort(compareEvents);
    const a = foldArtifact(name, list, problems);
    for (const stage in a.stages) used.add(stage);
    artifacts.set(name, a);
  }
  return { artifacts, stages: [...used].sort(), warnings: [], problems };
}
var T = {};
var tick = (k, s) => {
  T[k] = (T[k] ?? 0) + performance.now() - s;
  return performance.now();
};
function foldArtifact(name, events, problems) {
  let s = performance.now();
  const versions = /* @__PURE__ */ new Map();
  const byCommit = /* @__PURE__ */ new Map();
  for (const e of events) {
    if (e.kind !== "register" && e.kind !== "deregister") continue;
    let v = versions.get(e.version);
    if (!v) {
      v = { version: e.version, commit: e.commit, registered: true, active: false, created: e.time, tag: e.tag, author: e.tagger, authorEmail: e.email, stages: [], lastDirect: e.kind };
      versions.set(v.version, v);
      const list = byCommit.get(e.commit) ?? [];
      list.push(v);
      byCommit.set(e.commit, list);
    } else if (v.commit !== e.commit) {
      problems.push(`artifact "${name}": tag "${e.tag}" points at commit ${short(e.commit)} but version ${v.version} is on ${short(v.commit)}; the tag is ignored`);
      continue;
    }
    v.lastDirect = e.kind;
    if (e.kind === "register") {
      v.created = e.time;
      v.tag = e.tag;
      v.author = e.tagger;
      v.authorEmail = e.email;
    }
  }
  for (const v of versions.values()) v.active = v.lastDirect === "register";
  s = tick("versions", s);
  for (const [commit, list] of byCommit) {
    const active = list.filter((v) => v.active);
    if (active.length < 2) continue;
    problems.push(`artifact "${name}" has ${active.length} versions on commit ${short(commit)} (tags ${active.map((v) => `"${v.tag}"`).join(" and ")}); its stage tags there are ignored until one is deregistered (\`xp model deprecate ${name} --version VERSION\`)`);
  }
  const versionAt = (commit, time) => {
    const list = byCommit.get(commit);
    if (!list) {
      let v = versions.get(commit);
      if (!v) versions.set(commit, v = { version: commit, commit, registered: false, active: true, created: time, tag: void 0, author: void 0, authorEmail: void 0, stages: [], lastDirect: void 0 });
      return v;
    }
    if (list.length === 1) return list[0];
    const active = list.filter((v) => v.active);
    if (active.length === 1) return active[0];
    if (active.length === 0) return [...list].sort((x, y) => y.created - x.created)[0];
    return null;
  };
  const vstage = /* @__PURE__ */ new Map();
  let lastEvent;
  for (const e of events) {
    lastEvent = e;
    if (e.kind !== "assign" && e.kind !== "unassign") continue;
    const v = versionAt(e.commit, e.time);
    if (!v) continue;
    e.version = v.version;
    const key = `${v.version}\0${e.stage}`;
    const s2 = vstage.get(key);
    if (!s2) vstage.set(key, { v, stage: e.stage, last: e, assigned: e.kind === "assign" ? e : void 0 });
    else {
      s2.last = e;
      if (e.kind === "assign") s2.assigned = e;
    }
  }
  s = tick("vstage", s);
  const stageEvents = {};
  for (const s2 of vstage.values()) {
    if (s2.last.kind !== "assign" || !s2.v.active) continue;
    s2.v.stages.push(s2.stage);
    const holder = { version: s2.v.version, commit: s2.v.commit, assigned: s2.assigned.time, tag: s2.assigned.tag };
    (stageEvents[s2.stage] ??= []).push({ holder, event: s2.assigned });
  }
  const stages = {};
  for (const stage of Object.keys(stageEvents).sort()) stages[stage] = stageEvents[stage].sort((x, y) => compareEvents(y.event, x.event)).map((x) => x.holder);
  const keyed = [...versions.values()].map((v) => ({ v, sv: parseSemVer(v.version) }));
  keyed.sort((x, y) => x.sv && y.sv ? compareSemVer(y.sv, x.sv) : x.sv ? -1 : y.sv ? 1 : compareVersionText(y.v.version, x.v.version));
  s = tick("stages", s);
  const all = keyed.map(({ v }) => {
    v.stages.sort();
    return v;
  });
  const latest = keyed.find(({ v, sv }) => sv && v.registered && v.active)?.v ?? null;
  s = tick("latest", s);
  return {
    name,
    active: lastEvent !== void 0 && lastEvent.kind !== "deprecate",
    registered: true,
    latest,
    versions: all,
    stages,
    events
  };
}
function highestVersion(a) {
  let best = null;
  for (const v of a?.versions ?? []) {
    const s = v.registered ? parseSemVer(v.version) : null;
    if (s && (!best || compareSemVer(s, best) > 0)) best = s;
  }
  return best?.raw ?? null;
}
function gtoShow(state, opts = {}) {
  const out = {};
  for (const name of [...state.artifacts.keys()].sort()) {
    const a = state.artifacts.get(name);
    if (!a.active && !opts.deprecated) continue;
    const stage = {};
    for (const s of state.stages) stage[s] = a.stages[s]?.[0]?.version ?? null;
    out[name] = { version: a.latest?.version ?? null, stage, registered: a.registered, active: a.active };
  }
  return out;
}
export {
  T,
  compareEvents,
  creationWarning,
  foldEvents,
  foldRegistry,
  gtoShow,
  highestVersion,
  toRegistryEvent
};
