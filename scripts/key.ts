/**
 * `deno task key`: prints a new virtual key value, `sk-bf-` and 32 characters
 * from 24 random bytes (192 bits), as the admin API makes them. Put it in the
 * environment and name it in the config as `"value": "env.NAME"`:
 *
 *     export TEAM_KEY=$(deno task key)
 */
import { newKeyValue } from "../src/auth/keys.ts";

if (import.meta.main) console.log(newKeyValue());
