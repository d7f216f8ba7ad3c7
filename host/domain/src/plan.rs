//! What a tenant pays for, and what that allows it to keep.

use serde::{Deserialize, Serialize};

/// A tenant's plan, which caps its agents that are not archived and its
/// uploaded plugins.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Plan {
    /// 1 agent.
    Free,
    /// 5 agents.
    Starter,
    /// 10 agents.
    Business,
    /// No limit of agents.
    #[default]
    Enterprise,
}

/// What a plan limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Quota {
    /// Agents that are not archived.
    Agents,
    /// Uploaded plugins.
    Plugins,
    /// The bytes of all uploaded plugins together.
    PluginBytes,
}

/// A plan that allows no more of a quota.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the `{}` plan allows at most {limit} of {quota:?}", .plan.as_str())]
pub struct PlanLimit {
    /// The tenant's plan.
    pub plan: Plan,
    /// What it limits.
    pub quota: Quota,
    /// How much it allows.
    pub limit: i64,
}

/// A text that names no plan.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown plan `{0}`")]
pub struct UnknownPlan(pub String);

impl Plan {
    /// Every plan, smallest first.
    pub const ALL: [Plan; 4] = [Plan::Free, Plan::Starter, Plan::Business, Plan::Enterprise];

    /// The plan as the API writes it: `free`, ….
    pub fn as_str(self) -> &'static str {
        match self {
            Plan::Free => "free",
            Plan::Starter => "starter",
            Plan::Business => "business",
            Plan::Enterprise => "enterprise",
        }
    }

    /// How many agents that are not archived the plan allows; none for no
    /// limit.
    pub fn agent_limit(self) -> Option<i64> {
        self.limit(Quota::Agents)
    }

    /// What the plan allows of `quota`; none for no limit.
    ///
    /// | plan | agents | plugins | plugin bytes |
    /// |---|---|---|---|
    /// | free | 1 | 3 | 64 MiB |
    /// | starter | 5 | 10 | 256 MiB |
    /// | business | 10 | 50 | 1 GiB |
    /// | enterprise | no limit | 500 | 4 GiB |
    pub fn limit(self, quota: Quota) -> Option<i64> {
        const MIB: i64 = 1 << 20;
        let (agents, plugins, plugin_bytes) = match self {
            Plan::Free => (Some(1), 3, 64 * MIB),
            Plan::Starter => (Some(5), 10, 256 * MIB),
            Plan::Business => (Some(10), 50, 1024 * MIB),
            Plan::Enterprise => (None, 500, 4096 * MIB),
        };
        match quota {
            Quota::Agents => agents,
            Quota::Plugins => Some(plugins),
            Quota::PluginBytes => Some(plugin_bytes),
        }
    }

    /// Refuses `adding` more of `quota` to `used`, past what the plan
    /// allows.
    pub fn allows(self, quota: Quota, used: i64, adding: i64) -> Result<(), PlanLimit> {
        match self.limit(quota) {
            Some(limit) if used.saturating_add(adding) > limit => Err(PlanLimit {
                plan: self,
                quota,
                limit,
            }),
            _ => Ok(()),
        }
    }

    /// Refuses a new plugin of `size` bytes to a tenant that has `count`
    /// plugins of `bytes` together.
    pub fn allows_plugin(self, count: i64, bytes: i64, size: i64) -> Result<(), PlanLimit> {
        self.allows(Quota::Plugins, count, 1)?;
        self.allows(Quota::PluginBytes, bytes, size)
    }
}

impl std::str::FromStr for Plan {
    type Err = UnknownPlan;

    fn from_str(text: &str) -> Result<Self, UnknownPlan> {
        Plan::ALL
            .into_iter()
            .find(|plan| plan.as_str() == text)
            .ok_or_else(|| UnknownPlan(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_allows_up_to_its_limit_and_not_one_more() {
        assert_eq!(Plan::Free.allows(Quota::Agents, 0, 1), Ok(()));
        assert_eq!(
            Plan::Free.allows(Quota::Agents, 1, 1),
            Err(PlanLimit {
                plan: Plan::Free,
                quota: Quota::Agents,
                limit: 1
            })
        );
        assert_eq!(Plan::Enterprise.allows(Quota::Agents, 1 << 40, 1), Ok(()));
        let mib = 1 << 20;
        assert!(Plan::Free.allows_plugin(2, 60 * mib, 4 * mib).is_ok());
        assert_eq!(
            Plan::Free
                .allows_plugin(2, 60 * mib, 5 * mib)
                .unwrap_err()
                .quota,
            Quota::PluginBytes
        );
        assert_eq!(
            Plan::Free.allows_plugin(3, 0, 1).unwrap_err().quota,
            Quota::Plugins
        );
    }

    #[test]
    fn plans_are_named_as_the_api_writes_them() {
        for plan in Plan::ALL {
            assert_eq!(plan.as_str().parse::<Plan>(), Ok(plan));
        }
        assert_eq!("gold".parse::<Plan>(), Err(UnknownPlan("gold".to_owned())));
    }
}
