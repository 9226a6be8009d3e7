// First run on a terminal: ask for what is missing (ORG, REPO, and a
// credential: a GitHub App or a PAT, the PAT's input hidden) and save the
// answers to the env file, so the next run needs no questions.
import { input, password, select } from '@inquirer/prompts';
import { readAppPrivateKey, validateAppId, validateInstallationId } from './app-key.ts';
import { updateEnvFile } from './env-file.ts';
import { validateOrg, validateRepo } from './names.ts';

export interface Credentials {
  org?: string;
  repo?: string;
  pat?: string;
  /** The GH_APP_* settings answered, when the App was chosen. */
  app?: Record<string, string>;
  /** A PAT or App is already configured: ask only for ORG/REPO. */
  credentialKnown?: boolean;
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
  let pat = known.pat;
  let app: Record<string, string> | undefined;
  if (!known.credentialKnown && !pat) {
    const kind = await select({
      message: 'How should the toolkit sign in to GitHub?',
      choices: [
        { name: 'GitHub App (least privilege: only "Self-hosted runners", tokens live one hour)', value: 'app' },
        { name: 'Personal access token (GH_PAT)', value: 'pat' },
      ],
    });
    if (kind === 'pat') {
      pat = answers.GH_PAT = (await password({ message: 'Personal access token (GH_PAT):', mask: '*' })).trim();
    } else {
      app = {};
      app.GH_APP_ID = (await input({ message: 'GitHub App ID (GH_APP_ID):', required: true, validate: check(validateAppId) })).trim();
      app.GH_APP_PRIVATE_KEY_FILE = (
        await input({
          message: 'Private key file of the App, mode 0600 (GH_APP_PRIVATE_KEY_FILE):',
          required: true,
          validate: async (text) => {
            try {
              await readAppPrivateKey(text.trim());
              return true;
            } catch (err) {
              return (err as Error).message;
            }
          },
        })
      ).trim();
      const installation = (
        await input({ message: 'Installation ID (GH_APP_INSTALLATION_ID, empty to look it up):', validate: (text) => text.trim() === '' || check(validateInstallationId)(text) })
      ).trim();
      if (installation) app.GH_APP_INSTALLATION_ID = installation;
      Object.assign(answers, app);
    }
  }
  await updateEnvFile(envFile, answers);
  process.stderr.write(`Saved ${Object.keys(answers).join(', ')} to ${envFile} (mode 0600)\n`);
  return { org, repo, ...(pat ? { pat } : {}), ...(app ? { app } : {}) };
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
