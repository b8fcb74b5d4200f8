/**
 * An sshd on 127.0.0.1 for git-over-ssh tests: host and client ed25519 keys generated
 * into a temporary folder, its own config and authorized_keys. Clients reach it with the
 * `GIT_SSH_COMMAND` it returns; URLs are `ssh://USER@127.0.0.1:PORT/abs/path.git`.
 */
import { spawn, spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { freePort, waitForPort, stopPid } from './common.js'

export interface SshServer {
  port: number
  user: string
  pid: number
  /** the value for GIT_SSH_COMMAND */
  sshCommand: string
  url(absPath: string): string
  stop(): Promise<void>
}

const SSHD = '/usr/sbin/sshd'

export async function startSshd(dir: string): Promise<SshServer> {
  fs.mkdirSync(dir, { recursive: true })
  fs.mkdirSync('/run/sshd', { recursive: true })
  const keygen = (file: string) => {
    const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file], { encoding: 'utf8' })
    if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr}`)
  }
  const hostKey = path.join(dir, 'host_ed25519')
  const clientKey = path.join(dir, 'client_ed25519')
  keygen(hostKey)
  keygen(clientKey)
  const authorized = path.join(dir, 'authorized_keys')
  fs.copyFileSync(clientKey + '.pub', authorized)
  fs.chmodSync(authorized, 0o600)
  const port = await freePort()
  const pidFile = path.join(dir, 'sshd.pid')
  const user = os.userInfo().username
  const config = path.join(dir, 'sshd_config')
  fs.writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1`,
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${pidFile}`,
      `AuthorizedKeysFile ${authorized}`,
      `StrictModes no`,
      `UsePAM no`,
      `PasswordAuthentication no`,
      `KbdInteractiveAuthentication no`,
      `PubkeyAuthentication yes`,
      `PermitRootLogin yes`,
      `AllowUsers ${user}`,
      `LogLevel ERROR`,
      // git over ssh needs the client's PATH to find git-upload-pack; the login shell gives it
      `PermitUserEnvironment no`,
      '',
    ].join('\n'),
  )
  // -D: stay in the foreground, so the pid to stop is the child's own
  const child = spawn(SSHD, ['-D', '-f', config, '-E', path.join(dir, 'sshd.log')], { stdio: 'ignore' })
  let exited = false
  child.on('exit', () => (exited = true))
  try {
    await waitForPort(port, 10_000)
  } catch (e) {
    if (exited) throw new Error(`sshd exited: ${safeRead(path.join(dir, 'sshd.log'))}`)
    throw e
  }
  const pid = child.pid!
  const sshCommand = `ssh -i ${clientKey} -p ${port} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR`
  return {
    port,
    user,
    pid,
    sshCommand,
    url: (abs) => `ssh://${user}@127.0.0.1:${port}${abs}`,
    stop: () => stopPid(pid),
  }
}

function safeRead(f: string) {
  try {
    return fs.readFileSync(f, 'utf8')
  } catch {
    return ''
  }
}
