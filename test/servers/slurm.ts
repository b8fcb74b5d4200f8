/**
 * A private one-node Slurm cluster on 127.0.0.1 (Debian slurmctld, slurmd, slurm-client,
 * munge): its own munged, slurm.conf and state in a temporary folder, random ports, a
 * unique cluster name. Clients reach it with `env` (SLURM_CONF). Stopped by pid; processes
 * that jobs `setsid` away from Slurm's tracking are found by the cluster's name in their
 * environment (SLURM_CLUSTER_NAME) and killed too.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { randomBytes } from 'node:crypto'
import { freePort, stopPid } from './common.js'

export interface SlurmCluster {
  dir: string
  name: string
  /** environment for sbatch, squeue, scontrol and xp */
  env: Record<string, string>
  /** the jobcomp file: one line per finished job */
  jobcomp: string
  stop(): Promise<void>
}

const user = os.userInfo().username

function nodeResources(): { cpus: number; mem: number } {
  const r = spawnSync('slurmd', ['-C'], { encoding: 'utf8' })
  const cpus = Number(/CPUs=(\d+)/.exec(r.stdout ?? '')?.[1] ?? os.cpus().length)
  const mem = Number(/RealMemory=(\d+)/.exec(r.stdout ?? '')?.[1] ?? 1024)
  return { cpus, mem: Math.max(256, Math.floor(mem / 2)) }
}

/**
 * Start munged, slurmctld and slurmd in `dir`; resolves once the node is idle. `cpus`
 * declares more CPUs than the machine has (slurmd told to trust the config), so that more
 * one-CPU jobs than cores run at once.
 */
export async function startSlurm(dir: string, opts: { cpus?: number; extraConf?: string[] } = {}): Promise<SlurmCluster> {
  const extraConf = opts.extraConf ?? []
  fs.mkdirSync(dir, { recursive: true })
  const name = `xp${randomBytes(4).toString('hex')}`
  const pids: number[] = []
  const daemon = (file: string, args: string[], env: NodeJS.ProcessEnv = process.env) => {
    const log = fs.openSync(path.join(dir, `${path.basename(file)}.out`), 'a')
    const child = spawn(file, args, { stdio: ['ignore', log, log], detached: true, env })
    fs.closeSync(log)
    child.unref()
    pids.push(child.pid!)
    return child
  }
  const stop = async () => {
    killByCluster(name)
    for (const pid of pids.reverse()) if (ownDaemon(pid, dir)) await stopPid(pid, 5000)
    killByCluster(name)
  }
  try {
    // munge: a private key and socket
    const key = path.join(dir, 'munge.key')
    const mk = spawnSync('mungekey', ['--create', `--keyfile=${key}`], { encoding: 'utf8' })
    if (mk.status !== 0) throw new Error(`mungekey failed: ${mk.stderr}`)
    fs.chmodSync(key, 0o600)
    const sock = path.join(dir, 'munge.sock')
    daemon('/usr/sbin/munged', [
      '--foreground',
      '--force',
      `--socket=${sock}`,
      `--key-file=${key}`,
      `--pid-file=${dir}/munged.pid`,
      `--log-file=${dir}/munged.log`,
      `--seed-file=${dir}/munged.seed`,
    ])
    await waitFor(() => fs.existsSync(sock), 5000, 'munged socket')

    const real = nodeResources()
    const cpus = opts.cpus ?? real.cpus
    const mem = real.mem
    const [ctldPort, dPort] = [await freePort(), await freePort()]
    const conf = path.join(dir, 'slurm.conf')
    const plug = path.join(dir, 'plugstack.conf')
    fs.writeFileSync(plug, '')
    fs.mkdirSync(path.join(dir, 'state'))
    fs.mkdirSync(path.join(dir, 'spool'))
    const jobcomp = path.join(dir, 'jobcomp.txt')
    fs.writeFileSync(
      conf,
      [
        `ClusterName=${name}`,
        `SlurmctldHost=localhost`,
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${dPort}`,
        `SlurmUser=${user}`,
        `SlurmdUser=${user}`,
        `AuthType=auth/munge`,
        `CredType=cred/munge`,
        `AuthInfo=socket=${sock}`,
        `StateSaveLocation=${dir}/state`,
        `SlurmdSpoolDir=${dir}/spool`,
        `SlurmctldPidFile=${dir}/slurmctld.pid`,
        `SlurmdPidFile=${dir}/slurmd.pid`,
        `SlurmctldLogFile=${dir}/slurmctld.log`,
        `SlurmdLogFile=${dir}/slurmd.log`,
        `ProctrackType=proctrack/linuxproc`,
        `TaskPlugin=task/none`,
        `JobAcctGatherType=jobacct_gather/none`,
        `AccountingStorageType=accounting_storage/none`,
        `JobCompType=jobcomp/filetxt`,
        `JobCompLoc=${jobcomp}`,
        `MpiDefault=none`,
        `MailProg=/bin/true`,
        `PlugStackConfig=${plug}`,
        `SelectType=select/cons_tres`,
        `SelectTypeParameters=CR_Core`,
        `SchedulerParameters=batch_sched_delay=0`,
        `MinJobAge=3600`,
        `ReturnToService=2`,
        // a time limit or scancel: SIGTERM, then SIGKILL this many seconds later
        `KillWait=5`,
        `OverTimeLimit=0`,
        ...(cpus !== real.cpus ? ['SlurmdParameters=config_overrides'] : []),
        ...extraConf,
        `NodeName=localhost NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem} State=UNKNOWN`,
        `PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP`,
        '',
      ].join('\n'),
    )
    const env = { SLURM_CONF: conf }
    const denv = { ...process.env, ...env }
    daemon('/usr/sbin/slurmctld', ['-D', '-i', '-f', conf], denv)
    daemon('/usr/sbin/slurmd', ['-D', '-N', 'localhost', '-f', conf], denv)
    await waitFor(
      () => {
        const r = spawnSync('sinfo', ['-h', '-o', '%t'], { env: denv, encoding: 'utf8' })
        return r.status === 0 && /^idle/m.test(r.stdout)
      },
      20_000,
      'an idle node (see slurmctld.log)',
      dir,
    )
    return { dir, name, env, jobcomp, stop }
  } catch (e) {
    await stop()
    throw e
  }
}

async function waitFor(ok: () => boolean, ms: number, what: string, dir?: string): Promise<void> {
  const until = Date.now() + ms
  while (!ok()) {
    if (Date.now() > until) {
      const log = dir ? ['slurmctld.log', 'slurmd.log'].map((f) => tail(path.join(dir, f))).join('\n') : ''
      throw new Error(`slurm: no ${what} after ${ms} ms\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n')
  } catch {
    return ''
  }
}

/** Is pid one of the daemons started for this cluster (its command line names our dir or socket)? */
function ownDaemon(pid: number, dir: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir)
  } catch {
    return false
  }
}

/** SIGKILL every process whose environment says it belongs to this cluster's jobs. */
function killByCluster(name: string): void {
  const needle = Buffer.from(`SLURM_CLUSTER_NAME=${name}\0`)
  let pids: string[] = []
  try {
    pids = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))
  } catch {
    return
  }
  for (const p of pids) {
    if (Number(p) === process.pid) continue
    try {
      if (fs.readFileSync(`/proc/${p}/environ`).includes(needle)) process.kill(Number(p), 'SIGKILL')
    } catch {
      // gone, or not readable
    }
  }
}
