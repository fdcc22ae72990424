// Who a request acts for. Every service function that reads or writes tenant data takes one.

/** The caller of a service function, as established by authentication. */
export interface Principal {
  /** Owner of every model, job and result the caller creates; the only ones it can see. */
  readonly tenant: string;
  /** A label of the key used (never the key itself), for logs and rate limits. */
  readonly keyId: string;
}

/** The tenant every request acts for when the service runs without API keys. */
export const OPEN_TENANT = 'default';

/** The principal of requests to a service running without API keys. */
export const OPEN_PRINCIPAL: Principal = Object.freeze({ tenant: OPEN_TENANT, keyId: 'open' });

/** Tenant names are path segments in the stores, so they are kept to a safe alphabet. */
export const TENANT_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
