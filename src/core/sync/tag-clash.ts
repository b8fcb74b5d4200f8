/**
 * Registry tags that two clones made under one name. A registry event's counter is one
 * more than the highest counter the clone knows (GTO's rule), so two clones that assign a
 * stage before seeing each other's tags both make `churn#prod#2`, on different objects:
 * the second to push is rejected, and its `git fetch` of the first's tag would clobber its
 * own. Tags are events (append-only) and the counter only makes their names unique, so
 * `xp pull` keeps both: the local event is made again under the next free counter, with
 * the same commit, tagger, date and message (the tag object names itself, so GTO and xp
 * read it as the same event), and the remote's is fetched under the name.
 */
import type { Repo } from '../repo.js'
import { git } from '../git.js'
import { XpError } from '../errors.js'
import { RegistryTag, nextCounter } from '../registry/tag.js'
import { TAGS_PREFIX, type RefEntry } from './refs.js'

/**
 * Renumber each local registry tag that the remote holds with other content; returns the
 * new names (old -> new). A clash that is not a numbered registry event (two clones
 * registered the same version, or a tag of the user's) is XP_TAG_CONFLICT.
 *
 * @example
 * await renumberClashingTags(repo, 'origin', [{ ref: 'refs/tags/churn#prod#2', oid: '...' }], remoteNames, localNames)
 * // [['churn#prod#2', 'churn#prod#3']]
 */
export async function renumberClashingTags(
  repo: Pick<Repo, 'root' | 'ctx'>,
  remote: string,
  clashes: RefEntry[],
  known: string[],
): Promise<Array<[string, string]>> {
  const names = [...known]
  const out: Array<[string, string]> = []
  for (const mine of clashes) {
    const name = mine.ref.slice(TAGS_PREFIX.length)
    const tag = RegistryTag.parse(name)
    if (!tag || tag.counter === undefined)
      throw new XpError('XP_TAG_CONFLICT', `tag ${name} exists on git remote "${remote}" with other content than here`, {
        hint: tag
          ? `two clones registered ${tag.artifact} ${tag.version ?? ''} on different commits: keep one (delete the other with \`git tag -d ${name}\` here, or \`git push ${remote} :refs/tags/${name}\` there), then pull again`
          : `rename or delete your tag (\`git tag -d ${name}\`), then pull again`,
        data: { tag: name },
      })
    const raw = await git(['cat-file', 'tag', mine.oid], { cwd: repo.root, env: repo.ctx.env })
    const counter = nextCounter(names, tag.artifact)
    const renamed = tag.withCounter(counter).name
    // the same object but for its `tag` line: same commit, tagger (and date) and message
    const content = raw.stdout.replace(/^tag .*$/m, `tag ${renamed}`)
    const made = await git(['mktag'], { cwd: repo.root, env: repo.ctx.env, input: content })
    await git(['update-ref', `${TAGS_PREFIX}${renamed}`, made.stdout.trim(), ''], { cwd: repo.root, env: repo.ctx.env })
    await git(['update-ref', '-d', mine.ref, mine.oid], { cwd: repo.root, env: repo.ctx.env })
    names.push(renamed)
    out.push([name, renamed])
  }
  return out
}
