// The owner chain of an object, from what its events say: a ReplicaSet's "Created pod: X"
// names its pods, a Deployment's "Scaled up replica set X" its ReplicaSets; failing that, the
// controllers' naming (Deployment "web" → ReplicaSet "web-7d9f8b6c5" → Pod "web-7d9f8b6c5-x2x4q",
// StatefulSet "db" → Pod "db-0", Job "backup-28931" → Pod "backup-28931-abcde") is checked
// against the events the hub holds for the candidate.

import {get} from './api.js';

/** Candidate owners of kind/name by name alone, nearest first: [{kind, name}]. */
export function ownerCandidates(kind, name) {
  if (kind === 'Pod') {
    const rs = /^(.+)-([bcdfghjklmnpqrstvwxz2456789]{6,10})-([a-z0-9]{5})$/.exec(name);
    if (rs) return [{kind: 'ReplicaSet', name: `${rs[1]}-${rs[2]}`}];
    const ordinal = /^(.+)-(\d+)$/.exec(name);
    if (ordinal) return [{kind: 'StatefulSet', name: ordinal[1]}];
    const suffix = /^(.+)-([a-z0-9]{5})$/.exec(name);
    if (suffix) return [{kind: 'Job', name: suffix[1]}, {kind: 'DaemonSet', name: suffix[1]}];
  }
  if (kind === 'ReplicaSet') {
    const dep = /^(.+)-([a-z0-9]{6,10})$/.exec(name);
    if (dep) return [{kind: 'Deployment', name: dep[1]}];
  }
  if (kind === 'Job') {
    const cron = /^(.+)-(\d{6,})$/.exec(name);
    if (cron) return [{kind: 'CronJob', name: cron[1]}];
  }
  return [];
}

/** Which events of an owner kind name their children in the message, and how. */
const NAMING = {
  ReplicaSet: {reason: 'SuccessfulCreate', pattern: /Created pod: (\S+)/},
  Job: {reason: 'SuccessfulCreate', pattern: /Created pod: (\S+)/},
  StatefulSet: {reason: 'SuccessfulCreate', pattern: /create Pod (\S+) in StatefulSet/},
  Deployment: {reason: 'ScalingReplicaSet', pattern: /[Ss]caled (?:up|down) replica set (\S+)/},
};

const PARENT_KINDS = {Pod: ['ReplicaSet', 'StatefulSet', 'Job', 'DaemonSet'], ReplicaSet: ['Deployment'],
  Job: ['CronJob']};

async function eventsOf(base, kind, name, reason, signal) {
  const fields = [`involvedObject.kind=${kind}`];
  if (name) fields.push(`involvedObject.name=${name}`);
  if (reason) fields.push(`reason=${reason}`);
  const list = await get(base, {fieldSelector: fields.join(','), limit: 500}, signal);
  return list.items || [];
}

/** The owner of kind/name in `base` (an events path): {kind, name, how} or null. */
async function ownerOf(base, kind, name, signal) {
  for (const parentKind of PARENT_KINDS[kind] || []) {
    const naming = NAMING[parentKind];
    if (!naming) continue;
    const events = await eventsOf(base, parentKind, '', naming.reason, signal);
    for (const event of events) {
      const match = naming.pattern.exec(event.message || '');
      if (match && match[1] === name) {
        return {kind: parentKind, name: event.involvedObject.name, how: `its ${naming.reason} event names it`};
      }
    }
  }
  for (const candidate of ownerCandidates(kind, name)) {
    const events = await eventsOf(base, candidate.kind, candidate.name, '', signal);
    if (events.length) {
      return {...candidate, how: `by name; ${events.length} event${events.length > 1 ? 's' : ''} of it held`};
    }
  }
  const guess = ownerCandidates(kind, name)[0];
  return guess ? {...guess, how: 'by name only; the hub holds no events of it', guessed: true} : null;
}

/** The chain of owners of kind/name, nearest first (at most three levels). */
export async function ownerChain(base, kind, name, signal) {
  const chain = [];
  let current = {kind, name};
  for (let depth = 0; depth < 3; depth++) {
    const owner = await ownerOf(base, current.kind, current.name, signal);
    if (!owner) break;
    chain.push(owner);
    current = owner;
  }
  return chain;
}

/** The objects kind/name created, as its events name them: [{kind, name}]. */
export function childrenNamed(kind, events) {
  const naming = NAMING[kind];
  if (!naming) return [];
  const childKind = kind === 'Deployment' ? 'ReplicaSet' : 'Pod';
  const names = new Set();
  for (const event of events) {
    const match = naming.pattern.exec(event.message || '');
    if (match) names.add(match[1]);
  }
  return [...names].map((name) => ({kind: childKind, name}));
}
