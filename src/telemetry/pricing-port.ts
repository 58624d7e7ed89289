import type { CostResult, TokenUsage } from './types.js';

/** What the API needs from a price table (PriceTable implements it). */
export interface Pricing {
  cost(usage: TokenUsage, options: { model?: string; engineId?: string }): CostResult;
}
