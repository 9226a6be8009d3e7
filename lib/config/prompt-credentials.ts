// First run on a terminal: ask for what is missing (ORG, REPO, and a
// credential: a GitHub App or a PAT, the PAT's input hidden) and save the
// answers to the env file, so the next run needs no questions.
import { input, password, select } from '@inquirer/prompts';
import { readAppPrivateKey, validateAppId, validateInstallationId } from './app-key.ts';
import { chosenCredential, noCredentialError, type CredentialNeed } from './credential.ts';
import { orgNotSetError } from './derive.ts';
import { updateEnvFile } from './env-file.ts';
import { validateOrg, validateRepo } from './names.ts';
import { setting, withAnswers, type Settings } from './settings.ts';

export interface CompleteOptions {
  /** Whether the command calls GitHub: then a credential is missing too when none is set. */
  credential: CredentialNeed;
  /** Ask on the terminal; otherwise a missing setting is one line naming it. */
  interactive: boolean;
}

/**
 * The settings with what the command cannot run without: ORG, and a
 * credential when it calls GitHub. Nothing missing: the settings as they are.
 * On a terminal, asks (askForCredentials: a credential too when none is set,
 * even for a command that needs none, so the first run sets up the next) and
 * returns the settings with the answers; otherwise a ConfigError naming the
 * setting and where to set it.
 */
export async function completeSettings(settings: Settings, options: CompleteOptions): Promise<Settings> {
  // ENTERPRISE names the scope as ORG does; its runners take a PAT only (derive.ts checks the rest).
  const enterprise = setting(settings, 'ENTERPRISE') !== undefined;
  const scopeSet = enterprise || setting(settings, 'ORG') !== undefined;
  const credentialSet = chosenCredential(settings) !== undefined;
  if (scopeSet && (credentialSet || options.credential === 'none')) return settings;
  if (!options.interactive) {
    if (!scopeSet) throw orgNotSetError(settings.envFile);
    throw noCredentialError(settings.envFile);
  }
  return withAnswers(settings, await askForCredentials(settings.envFile, { askOrg: !scopeSet, askCredential: !credentialSet, patOnly: enterprise }));
}

export interface Questions {
  /** ORG is not set: ask for it, and for REPO with it. */
  askOrg: boolean;
  /** No PAT or App is set: ask which, and its settings. */
  askCredential: boolean;
  /** Enterprise runners: GitHub Apps cannot manage them, so only a PAT is asked for. */
  patOnly?: boolean;
}

/**
 * Asks the questions, saves the answers to the env file (mode 0600) and
 * returns them, by setting name. REPO left empty is returned as '' (org
 * scope, whatever REPO said before) but not saved.
 */
export async function askForCredentials(envFile: string, questions: Questions): Promise<Record<string, string>> {
  const answers: Record<string, string> = {};
  // Answers are checked before they are saved: a typo must not be stored for every later run.
  if (questions.askOrg) {
    answers.ORG = (await input({ message: 'GitHub organization (ORG):', required: true, validate: check(validateOrg) })).trim();
    // Asked only together with ORG: a user who already set ORG chose org scope.
    answers.REPO = (
      await input({
        message: 'Repository for repo-scoped runners (REPO, empty for the whole org):',
        validate: (text) => text.trim() === '' || check(validateRepo)(text),
      })
    ).trim();
  }
  if (questions.askCredential) {
    const kind = questions.patOnly
      ? 'pat'
      : await select({
          message: 'How should the toolkit sign in to GitHub?',
          choices: [
            { name: 'GitHub App (least privilege: only "Self-hosted runners", tokens live one hour)', value: 'app' },
            { name: 'Personal access token (GH_PAT)', value: 'pat' },
          ],
        });
    if (kind === 'pat') {
      const message = questions.patOnly ? 'Classic personal access token with manage_runners:enterprise (GH_PAT):' : 'Personal access token (GH_PAT):';
      answers.GH_PAT = (await password({ message, mask: '*' })).trim();
    } else {
      answers.GH_APP_ID = (await input({ message: 'GitHub App ID (GH_APP_ID):', required: true, validate: check(validateAppId) })).trim();
      answers.GH_APP_PRIVATE_KEY_FILE = (
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
        await input({
          message: 'Installation ID (GH_APP_INSTALLATION_ID, empty to look it up):',
          validate: (text) => text.trim() === '' || check(validateInstallationId)(text),
        })
      ).trim();
      if (installation) answers.GH_APP_INSTALLATION_ID = installation;
    }
  }
  const saved = Object.fromEntries(Object.entries(answers).filter(([, value]) => value !== ''));
  await updateEnvFile(envFile, saved);
  process.stderr.write(`Saved ${Object.keys(saved).join(', ')} to ${envFile} (mode 0600)\n`);
  return answers;
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
