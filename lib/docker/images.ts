// Images: what is known of one (present? its ID, user, a label), pulling a
// base, and removing what the toolkit built. An image that is not present
// locally is an expected answer here (undefined or false), never an error.
import { IMAGE_LABEL } from '../../core/constants.ts';
import type { Config } from '../config/config.ts';
import { docker, dockerUnlessMissing, failure, outputLines, probe, start } from './command.ts';
import { ensureDocker } from './engine.ts';

/** `{{…}}` of the image as docker inspect formats it; undefined when the image is not present locally. */
async function inspectImage(image: string, format: string): Promise<string | undefined> {
  await ensureDocker();
  return (await dockerUnlessMissing(['image', 'inspect', '--format', format, image]))?.trim();
}

export async function imageExists(image: string): Promise<boolean> {
  return (await inspectImage(image, '{{.Id}}')) !== undefined;
}

/** The image's ID, or undefined when it is not present locally. */
export async function imageId(image: string): Promise<string | undefined> {
  return inspectImage(image, '{{.Id}}');
}

/** The user an image runs as (its USER; empty for root), or undefined when it is not present locally. */
export async function imageUser(image: string): Promise<string | undefined> {
  return inspectImage(image, '{{.Config.User}}');
}

/** The value of one label of the image; undefined when the image is not present locally or has no such label. */
export async function imageLabel(image: string, label: string): Promise<string | undefined> {
  const value = await inspectImage(image, `{{ index .Config.Labels "${label}" }}`);
  return value === '' || value === '<no value>' ? undefined : value;
}

/** The `repository:tag` names of the tagged images present. */
export async function imageNames(): Promise<string[]> {
  await ensureDocker();
  return outputLines(await docker(['images', '--format', '{{.Repository}}:{{.Tag}}'])).filter((name) => !name.includes('<none>'));
}

/** `docker pull IMAGE`, progress on stderr; a failure names the setting the image came from. */
export async function pullImage(image: string, setting: string): Promise<void> {
  await ensureDocker();
  const result = await start(['docker', 'pull', image], { stdio: 'stderr' });
  if (result.exitCode !== 0)
    throw failure('docker pull', result, { what: `${setting}=${image}`, fix: `check ${setting} and the registry login, or load the image locally` });
}

/** Removes an image a rebuild left untagged, unless a container (a runner not yet recreated) or a child image still uses it. */
export async function removeReplacedImage(id: string | undefined, image: string): Promise<void> {
  if (!id || id === (await imageId(image))) return;
  await removeUnlessUsed([id]);
}

/** Removes every image built for this scope (tagged or left dangling by rebuilds) that nothing uses; returns what was asked to go. */
export async function removeScopeImages(config: Pick<Config, 'projectName'>): Promise<string[]> {
  await ensureDocker();
  const listed = await docker(['images', '--format', '{{.ID}} {{.Repository}}:{{.Tag}}', '--filter', `label=${IMAGE_LABEL.project}=${config.projectName}`]);
  const images = outputLines(listed).map((line) => line.split(' ') as [string, string]);
  if (images.length === 0) return [];
  // Tagged ones first by name (an ID can carry several tags), then whatever is left dangling.
  const tagged = images.map(([, name]) => name).filter((name) => !name.includes('<none>'));
  if (tagged.length) await removeUnlessUsed(tagged);
  const dangling = images.filter(([, name]) => name.includes('<none>')).map(([id]) => id);
  if (dangling.length) await removeUnlessUsed(dangling);
  return tagged.length ? tagged : dangling;
}

/** Removes the images by name even while tagged elsewhere (`-f`), unless a running container uses one; returns those that went. */
export async function removeImages(images: string[]): Promise<string[]> {
  const gone: string[] = [];
  for (const image of images) if ((await imageExists(image)) && (await removeUnlessUsed([image], ['-f']))) gone.push(image);
  return gone;
}

/**
 * `docker image rm …images`. Docker refuses an image a container or a child
 * image still uses, and that refusal is an expected answer here, not an
 * error: the image stays, and whether all went is returned.
 */
async function removeUnlessUsed(images: string[], flags: string[] = []): Promise<boolean> {
  return (await probe(['image', 'rm', ...flags, ...images])).exitCode === 0;
}
