import { basename, extname } from 'node:path';
import { dbFromEnv } from '../src/store/database.js';

/** What the register hook is asked to do, read once from the environment. */
export interface AutoConfig {
  /** OTEL_SDK_DISABLED=true: install nothing at all. */
  disabled: boolean;
  /** Database path, or false for AGENTLOUPE_DB=off. */
  db: string | false;
  agentType: string;
  agentName: string;
  planId: string | undefined;
  /** AGENTLOUPE_RUN_AGENT_ID: the run `agentloupe run` records around this process; attach to it. */
  attachRunId: string | undefined;
  captureContent: boolean;
  /** Bytes of prompt or completion kept per call when content capture is on. */
  maxContentBytes: number;
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && /^(1|true|yes|on)$/i.test(value.trim());
}

function nonEmpty(value: string | undefined): string | undefined {
  const v = value?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** The script's name without extension: `node agents/planner.mjs` is type "planner". */
export function scriptName(argv: readonly string[] = process.argv): string {
  const script = argv[1];
  if (!script) return 'node';
  const base = basename(script);
  const name = base.slice(0, base.length - extname(base).length);
  return name === '' ? 'node' : name;
}

export function readConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = process.argv): AutoConfig {
  const agentType = nonEmpty(env.AGENTLOUPE_AGENT_TYPE) ?? scriptName(argv);
  const max = Number(env.AGENTLOUPE_CAPTURE_CONTENT_MAX_BYTES);
  return {
    disabled: truthy(env.OTEL_SDK_DISABLED),
    db: dbFromEnv(env),
    agentType,
    agentName: nonEmpty(env.AGENTLOUPE_AGENT_NAME) ?? agentType,
    planId: nonEmpty(env.AGENTLOUPE_PLAN_ID),
    attachRunId: nonEmpty(env.AGENTLOUPE_RUN_AGENT_ID),
    captureContent: truthy(env.AGENTLOUPE_CAPTURE_CONTENT),
    maxContentBytes: Number.isInteger(max) && max > 0 ? max : 16 * 1024,
  };
}
