// First run on a terminal: ask for what is missing (PAT input hidden) and save
// the answers to the env file, so the next run needs no questions.
import { input, password } from '@inquirer/prompts';
import { updateEnvFile } from './env-file.ts';
import { validateOrg, validateRepo } from './names.ts';

export interface Credentials {
  org?: string;
  repo?: string;
  pat?: string;
}

export async function askForCredentials(envFile: string, known: Credentials): Promise<Credentials> {
  const answers: Record<string, string> = {};
  // Answers are checked before they are saved: a typo must not be stored for every later run.
  const org = known.org ?? (answers.ORG = (await input({ message: 'GitHub organization (ORG):', required: true, validate: check(validateOrg) })).trim());
  let repo = known.repo;
  if (!known.org) {
    // Asked only together with ORG: a user who already set ORG chose org scope.
    repo = (await input({ message: 'Repository for repo-scoped runners (REPO, empty for the whole org):', validate: (text) => text.trim() === '' || check(validateRepo)(text) })).trim();
    if (repo) answers.REPO = repo;
    else repo = undefined;
  }
  const pat = known.pat ?? (answers.GH_PAT = (await password({ message: 'Personal access token (GH_PAT):', mask: '*' })).trim());
  await updateEnvFile(envFile, answers);
  process.stderr.write(`Saved ${Object.keys(answers).join(', ')} to ${envFile} (mode 0600)\n`);
  return { org, repo, pat };
}

/** Turns a throwing validator into an inquirer one: true, or the error's text to show. */
function check(validate: (text: string) => unknown): (text: string) => true | string {
  return (text) => {
    try {
      validate(text.trim());
      return true;
    } catch (err) {
      return (err as Error).message;
    }
  };
}
