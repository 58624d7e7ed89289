/**
 * W3C baggage keys that carry the parent agent run and plan across processes, next to
 * `traceparent`: a sub-agent process reads them so that it becomes a child run of its parent.
 */
export const BAGGAGE_PARENT_AGENT_ID = 'agentloupe.agent.id';
export const BAGGAGE_PLAN_ID = 'agentloupe.plan.id';
