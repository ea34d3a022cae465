/**
 * The failures the auth stage and the admin API add, as `GatewayError`s so the
 * one mapping in `errors/response.ts` answers them. Messages name key ids,
 * never key values.
 */
import { GatewayError } from "../errors/GatewayError.ts";

export const rateLimited = (message: string, headers: Readonly<Record<string, string>>) =>
  new GatewayError({
    status: 429,
    type: "rate_limit_error",
    message,
    param: null,
    code: "rate_limit_exceeded",
    headers,
  });

export const budgetExceeded = (message: string) =>
  new GatewayError({ status: 402, type: "insufficient_quota", message, param: null, code: "budget_exceeded" });

export const storeUnavailable = () =>
  new GatewayError({
    status: 503,
    type: "server_error",
    message: "The gateway's usage store is unavailable; try again shortly.",
    param: null,
    code: "store_unavailable",
  });

export const conflict = (message: string) =>
  new GatewayError({ status: 409, type: "invalid_request_error", message, param: null, code: "conflict" });
