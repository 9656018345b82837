// @polyhook/client: typed clients of Polyhook's native API and of each vendor dialect it
// serves. The types are generated from the gateway's OpenAPI specs (src/generated); the
// requests are made by openapi-fetch.
import createFetchClient, { type Client, type ClientOptions, type Middleware } from "openapi-fetch";

import type { components as nativeComponents, paths as nativePaths } from "./generated/polyhook.js";
import type { paths as authingPaths } from "./generated/authing.js";
import type { paths as fusionauthPaths } from "./generated/fusionauth.js";
import type { paths as nursaPaths } from "./generated/nursa.js";
import type { paths as xsollaPaths } from "./generated/xsolla.js";

export type { nativePaths as paths, nativeComponents as components };
export type * as native from "./generated/polyhook.js";
export type * as authing from "./generated/authing.js";
export type * as fusionauth from "./generated/fusionauth.js";
export type * as nursa from "./generated/nursa.js";
export type * as xsolla from "./generated/xsolla.js";

/** The native API's main shapes. */
export type Webhook = nativeComponents["schemas"]["Webhook"];
export type CreatedWebhook = nativeComponents["schemas"]["CreatedWebhook"];
export type Event = nativeComponents["schemas"]["Event"];
export type Delivery = nativeComponents["schemas"]["Delivery"];
export type WebhookStats = nativeComponents["schemas"]["WebhookStats"];
export type NewPortalLink = nativeComponents["schemas"]["NewPortalLink"];
export type PortalLink = nativeComponents["schemas"]["PortalLink"];
/** What a native subscription's endpoint receives, and the gateway's own (polyhook.*) events. */
export type StandardEvent = nativeComponents["schemas"]["StandardEvent"];
export type OperatorEvent = nativeComponents["schemas"]["OperatorEvent"];

/** Options of every client: the gateway's base URL and what openapi-fetch takes. */
export interface Options extends Omit<ClientOptions, "baseUrl"> {
  /** The gateway, for instance "http://127.0.0.1:8080". */
  baseUrl: string;
}

/** Sets headers on every request that does not set them itself. */
function headers(values: Record<string, string>): Middleware {
  return {
    onRequest({ request }) {
      for (const [name, value] of Object.entries(values)) {
        if (!request.headers.has(name)) request.headers.set(name, value);
      }
      return request;
    },
  };
}

function withHeaders<P extends {}>(opts: Options, values: Record<string, string>): Client<P> {
  const client = createFetchClient<P>(opts);
  client.use(headers(values));
  return client;
}

/**
 * A client of the native API (/v1) that sends token as the admin token.
 *
 *     const ph = createClient({ baseUrl: "http://127.0.0.1:8080", token });
 *     const { data } = await ph.POST("/v1/webhooks", { body: { url, events: ["user.created"] } });
 */
export function createClient(opts: Options & { token: string }): Client<nativePaths> {
  const { token, ...rest } = opts;
  return withHeaders<nativePaths>(rest, { Authorization: `Bearer ${token}` });
}

/** A client of the FusionAuth dialect; apiKey is minted with POST /v1/credentials. */
export function createFusionAuthClient(opts: Options & { apiKey: string }): Client<fusionauthPaths> {
  const { apiKey, ...rest } = opts;
  return withHeaders<fusionauthPaths>(rest, { Authorization: apiKey });
}

/** A client of the Xsolla dialect; token is the server JWT from POST /api/oauth2/token. */
export function createXsollaClient(opts: Options & { token?: string }): Client<xsollaPaths> {
  const { token, ...rest } = opts;
  return withHeaders<xsollaPaths>(rest, token ? { "X-SERVER-AUTHORIZATION": `Bearer ${token}` } : {});
}

/** A client of the Nursa dialect; token is the JWT from POST /oidc/oauth/token. */
export function createNursaClient(opts: Options & { token?: string }): Client<nursaPaths> {
  const { token, ...rest } = opts;
  return withHeaders<nursaPaths>(rest, token ? { Authorization: `Bearer ${token}` } : {});
}

/**
 * A client of the Authing dialect; token is a management token from
 * POST /api/v3/get-management-token, sent with its user pool id.
 */
export function createAuthingClient(opts: Options & { userPoolId: string; token?: string }): Client<authingPaths> {
  const { userPoolId, token, ...rest } = opts;
  return withHeaders<authingPaths>(rest, { "X-Authing-Userpool-Id": userPoolId, ...(token ? { Authorization: token } : {}) });
}
