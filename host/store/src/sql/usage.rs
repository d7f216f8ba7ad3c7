// The usage counters every intent write moves, and the snapshot read
// from them.

#[async_trait]
impl UsageRepository for ThisStore {
    async fn usage(
        &self,
        agent_id: &str,
        currency: Currency,
        merchant_key: Option<&str>,
        now_ms: i64,
        day_start_ms: i64,
        month_start_ms: i64,
        version: Option<i64>,
    ) -> Result<Usage> {
        const MINUTE: i64 = 60_000;
        const DAY: i64 = 24 * 60 * MINUTE;
        let starts = [
            now_ms - MINUTE,
            now_ms - 60 * MINUTE,
            now_ms - DAY,
            now_ms - 7 * DAY,
            now_ms - 30 * DAY,
            day_start_ms,
            month_start_ms,
            now_ms - 30 * DAY,
        ];
        let seconds = starts.map(|start| start.div_euclid(1000));
        let kept = version.and_then(|version| {
            self.kept_usage
                .get(agent_id, currency, merchant_key, version, &seconds)
        });
        if version.is_some() {
            let kept = if kept.is_some() { "true" } else { "false" };
            metrics::counter!("warrant_store_usage_reads_total", "kept" => kept).increment(1);
        }
        let windows = match kept {
            Some(windows) => windows,
            None => {
                let (read_version, read) =
                    read_usage(&self.pool, agent_id, currency, merchant_key, starts).await?;
                // Kept for the agent's next decision in its turn.
                if let (Some(read_version), Some(_)) = (read_version, version) {
                    self.kept_usage.keep(
                        agent_id,
                        currency,
                        merchant_key,
                        read_version,
                        seconds,
                        read,
                    );
                }
                read.windows
            }
        };
        let [
            last_minute,
            last_hour,
            last_day,
            last_week,
            last_month,
            calendar_day,
            calendar_month,
            merchant_last_month,
        ] = windows;
        Ok(Usage {
            currency,
            timezone: "UTC".to_owned(),
            last_minute,
            last_hour,
            last_day,
            last_week,
            last_month,
            calendar_day,
            calendar_month,
            merchant_last_month,
        })
    }
}

/// The agent's usage in windows from `starts` (ms) on, from its counters,
/// and the usage version read in the same statement (none if there is no
/// such agent).
async fn read_usage(
    pool: &sqlx::Pool<Db>,
    agent_id: &str,
    currency: Currency,
    merchant_key: Option<&str>,
    starts: [i64; WINDOWS],
) -> Result<(Option<i64>, Read)> {
    let mut query = sqlx::query(sqlx::AssertSqlSafe(USAGE_SQL.as_str()))
        .bind(agent_id)
        .bind(currency.code())
        .bind(merchant_key);
    for start in starts {
        for (from, to) in suffix_ranges(start) {
            query = query.bind(from).bind(to);
        }
    }
    let mut version = None;
    let mut oldest = [i64::MAX; WINDOWS];
    let mut windows = [WindowUsage::default(); WINDOWS];
    for row in query.fetch_all(pool).await? {
        let window: i64 = row.try_get("w")?;
        if window == VERSION_ROW {
            version = Some(row.try_get::<i64, _>("c")?);
            continue;
        }
        let window = window as usize;
        let usage = &mut windows[window];
        // A range with no counters sums to NULL.
        for (total, column) in [
            (&mut usage.count, "c"),
            (&mut usage.spend, "s"),
            (&mut usage.flagged_count, "fc"),
            (&mut usage.flagged_spend, "fs"),
        ] {
            let more = row.try_get::<Option<i64>, _>(column)?.unwrap_or(0);
            *total = total.saturating_add(more.max(0) as u64);
        }
        if let Some(first) = row.try_get::<Option<i64>, _>("m")? {
            oldest[window] = oldest[window].min(first);
        }
    }
    Ok((version, Read { oldest, windows }))
}

impl ThisStore {
    /// Records many decided intents in one transaction, counted in their
    /// agent's usage exactly as [`IntentRepository::insert_intent`] counts them. Only
    /// for filling a store in benchmarks: it records no events and skips
    /// every check.
    #[doc(hidden)]
    pub async fn bulk_insert_intents(&self, intents: &[IntentRecord]) -> Result<()> {
        let mut tx = self.write().await?;
        for intent in intents {
            insert_counted(&mut tx, intent).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// The window of the usage query's row that gives the agent's usage
/// version.
const VERSION_ROW: i64 = -1;

/// The usage query: for each window (in [`Usage`]'s order, the merchant's
/// last), the count of intents and their spend in one currency, and the
/// same of those with a flagged settlement, and the start of the oldest
/// bucket summed; then a row of window [`VERSION_ROW`] whose `c` is the
/// agent's usage version (none if there is no such agent). `$1` is the agent, `$2` the
/// currency, `$3` the merchant scope (NULL when the intent has none); then
/// a `[from, to)` pair of bucket starts per window and level (32 ranges).
/// A window may have no row, or (as a union) one per level.
///
/// Two shapes of the same query, the store's `USAGE_AS_ONE_JOIN` choosing:
/// - **one join** of the list of ranges to the counters. Whatever the
///   database's statistics, the only way to it is one seek of the
///   counters' primary key per range, so its cost is that of the ranges'
///   rows however many intents are stored, and PostgreSQL does not run it
///   in parallel. The union below it did run in parallel at a million
///   stored intents (its 32 index scans together cost more than the
///   threshold for parallel query): some 15 ms a query, most of it
///   starting workers;
/// - **a union of 32 aggregates**, one per range, which SQLite runs faster.
static USAGE_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    const SUMS: &str = "CAST(SUM(b.count) AS BIGINT) AS c,
         CAST(SUM(CASE WHEN b.currency = $2 THEN b.spend ELSE 0 END) AS BIGINT) AS s,
         CAST(SUM(b.flagged_count) AS BIGINT) AS fc,
         CAST(SUM(CASE WHEN b.currency = $2 THEN b.flagged_spend ELSE 0 END) AS BIGINT) AS fs,
         CAST(MIN(b.start_s) AS BIGINT) AS m";
    // The agent's usage version, read in the same statement as the sums.
    let version = format!(
        "SELECT CAST({VERSION_ROW} AS BIGINT) AS w, usage_version AS c, CAST(NULL AS BIGINT) AS s,
                CAST(NULL AS BIGINT) AS fc, CAST(NULL AS BIGINT) AS fs, CAST(NULL AS BIGINT) AS m
         FROM agents WHERE id = $1"
    );
    let mut ranges = Vec::new();
    let mut aggregates = Vec::new();
    for window in 0..8 {
        let scope = if window == 7 {
            "CAST($3 AS TEXT)"
        } else {
            "''"
        };
        for level in 0..4 {
            let from = 4 + (window * 4 + level) * 2;
            let to = from + 1;
            ranges.push(format!(
                "(CAST({window} AS BIGINT), {scope}, CAST({level} AS BIGINT), \
                 CAST(${from} AS BIGINT), CAST(${to} AS BIGINT))"
            ));
            aggregates.push(format!(
                "SELECT CAST({window} AS BIGINT) AS w, {SUMS}
                 FROM usage_buckets b
                 WHERE b.agent_id = $1 AND b.scope = {scope} AND b.level = {level}
                   AND b.start_s >= ${from} AND b.start_s < ${to}"
            ));
        }
    }
    if !USAGE_AS_ONE_JOIN {
        aggregates.push(version);
        return aggregates.join("\nUNION ALL\n");
    }
    format!(
        "WITH ranges (w, scope, level, from_s, to_s) AS (VALUES {})
         SELECT ranges.w AS w, {SUMS}
         FROM ranges
         JOIN usage_buckets b
           ON b.agent_id = $1 AND b.scope = ranges.scope AND b.level = ranges.level
          AND b.start_s >= ranges.from_s AND b.start_s < ranges.to_s
         GROUP BY ranges.w
         UNION ALL
         {version}",
        ranges.join(", ")
    )
});

/// Inserts a decided intent's row and counts it in its agent's usage.
/// [`StoreError::Duplicate`] when the agent already used its client
/// intent id.
async fn insert_counted(tx: &mut Tx, intent: &IntentRecord) -> Result<()> {
    let counted = Counted::of(intent);
    bind_intent(sqlx::query(INSERT_INTENT), intent, &counted)
        .execute(&mut **tx)
        .await
        .map_err(|e| unique_as(e, StoreError::Duplicate))?;
    counted.bump(intent).run(tx).await
}

/// A declared intent as the usage kept of its agent counts it.
struct DeclaredUsage {
    agent_id: String,
    currency: Currency,
    merchant_key: Option<String>,
    at_ms: i64,
    spend: i64,
}

impl DeclaredUsage {
    fn of(intent: &IntentRecord) -> Self {
        let counted = Counted::of(intent);
        DeclaredUsage {
            agent_id: intent.agent_id.clone(),
            currency: intent.intent.currency(),
            merchant_key: counted.merchant_key,
            at_ms: intent.created_ms,
            spend: counted.spend,
        }
    }

    /// The declaration is committed, its batch's rows in hand
    /// ([`usage_version_of`]); without a version in them, what is kept of
    /// the agent is left behind.
    fn committed(&self, kept: &KeptUsage, rows: &[DbRow]) {
        if let Some(version) = usage_version_of(rows) {
            kept.declared(
                &self.agent_id,
                self.currency,
                self.merchant_key.as_deref(),
                version,
                self.at_ms,
                self.spend,
            );
        }
    }
}

/// What a new intent adds to its agent's counters.
struct Counted {
    currency: &'static str,
    amount: Option<i64>,
    spend: i64,
    merchant_key: Option<String>,
}

impl Counted {
    fn of(intent: &IntentRecord) -> Self {
        let declared = &intent.intent;
        let amount = declared.amount.map(|a| a.minor_units);
        Counted {
            currency: declared.currency().code(),
            amount: amount.and_then(minor_i64),
            spend: spend_minor(intent.status, amount, None, Reporter::Agent),
            merchant_key: declared.merchant.as_deref().map(merchant_key),
        }
    }

    /// The move of the intent's agent's counters.
    fn bump<'a>(&'a self, intent: &'a IntentRecord) -> Bump<'a> {
        Bump::new(
            &intent.agent_id,
            self.merchant_key.as_deref(),
            self.currency,
            intent.created_ms,
            Counts {
                count: 1,
                spend: self.spend,
                ..Counts::default()
            },
        )
    }
}

/// Inserts a decided intent's row: [`bind_intent`].
const INSERT_INTENT: &str =
    "INSERT INTO intents (id, tenant_id, agent_id, status, intent, decision, policy_id,
                          policy_version, currency, amount_minor, merchant_key,
                          client_intent_id, status_reason, settlement, created_ms,
                          updated_ms, expires_ms, spend_minor, recurring,
                          approvals_required, input_sha256, card_id, card_name)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20, $21, $22, $23)";

fn bind_intent<B: Binds>(b: B, intent: &IntentRecord, counted: &Counted) -> B {
    let declared = &intent.intent;
    b.bind_next(&intent.id)
        .bind_next(&intent.tenant_id)
        .bind_next(&intent.agent_id)
        .bind_next(intent.status.as_str())
        .bind_next(json_text(declared))
        .bind_next(&intent.decision)
        .bind_next(&intent.policy_id)
        .bind_next(intent.policy_version)
        .bind_next(counted.currency)
        .bind_next(counted.amount)
        .bind_next(&counted.merchant_key)
        .bind_next(&declared.client_intent_id)
        .bind_next(&intent.status_reason)
        .bind_next(&intent.settlement)
        .bind_next(intent.created_ms)
        .bind_next(intent.updated_ms)
        .bind_next(intent.expires_ms)
        .bind_next(counted.spend)
        .bind_next(i64::from(declared.recurring.is_some()))
        .bind_next(intent.approvals_required)
        .bind_next(&intent.input_sha256)
        .bind_next(intent.card.as_ref().map(|card| &card.id))
        .bind_next(intent.card.as_ref().map(|card| &card.name))
}

/// How much an intent's counters move: intents, spend (more or less), and
/// the same of intents with a flagged settlement.
#[derive(Clone, Copy, Debug, Default)]
struct Counts {
    count: i64,
    spend: i64,
    flagged_count: i64,
    flagged_spend: i64,
}

/// The statement that moves an agent's buckets, one row per level for
/// all of the agent's intents and, with `merchant`, one per level for the
/// merchant's: `$1` agent, `$2` currency, `$3` count, `$4` spend (more or
/// less), `$5` the spends' ceiling, `$6` the spend of a new bucket, `$7` to
/// `$10` the bucket starts per level, `$11` flagged count, `$12` flagged
/// spend (more or less), `$13` the flagged spend of a new bucket, `$14`
/// the merchant scope.
fn bump_sql(merchant: bool) -> &'static str {
    static SQL: std::sync::LazyLock<[String; 2]> = std::sync::LazyLock::new(|| {
        [false, true].map(|merchant| {
            let scopes: &[&str] = if merchant { &["''", "$14"] } else { &["''"] };
            let rows: Vec<String> = scopes
                .iter()
                .flat_map(|scope| {
                    (0..4).map(move |level| {
                        format!(
                            "($1, {scope}, {level}, ${}, $2, $3, $6, $11, $13)",
                            7 + level
                        )
                    })
                })
                .collect();
            let clamped = |column: &str, delta: &str| {
                format!(
                    "CASE WHEN usage_buckets.{column} + {delta} < 0 THEN 0
                          WHEN usage_buckets.{column} + {delta} > $5 THEN $5
                          ELSE usage_buckets.{column} + {delta} END"
                )
            };
            format!(
                "INSERT INTO usage_buckets (agent_id, scope, level, start_s, currency, count, spend,
                                            flagged_count, flagged_spend)
                 VALUES {}
                 ON CONFLICT (agent_id, scope, level, start_s, currency) DO UPDATE SET
                     count = usage_buckets.count + excluded.count,
                     spend = {},
                     flagged_count = usage_buckets.flagged_count + excluded.flagged_count,
                     flagged_spend = {}",
                rows.join(", "),
                clamped("spend", "$4"),
                clamped("flagged_spend", "$12"),
            )
        })
    });
    &SQL[usize::from(merchant)]
}

/// A move of an agent's counters for an intent declared at `created_ms`,
/// for all of the agent's intents and for the merchant's: one statement
/// and its values.
struct Bump<'a> {
    agent_id: &'a str,
    /// The merchant's scope; never empty.
    merchant_key: Option<&'a str>,
    currency: &'a str,
    created_ms: i64,
    by: Counts,
}

impl<'a> Bump<'a> {
    fn new(
        agent_id: &'a str,
        merchant_key: Option<&'a str>,
        currency: &'a str,
        created_ms: i64,
        by: Counts,
    ) -> Self {
        Bump {
            agent_id,
            // An empty merchant would be the scope of all intents.
            merchant_key: merchant_key.filter(|key| !key.is_empty()),
            currency,
            created_ms,
            by,
        }
    }

    /// Moves the counters in the write's transaction.
    async fn run(&self, tx: &mut Tx) -> Result<()> {
        self.statements(Batch::default()).run(tx).await?;
        Ok(())
    }

    /// Adds to `batch` the statement that moves the counters and the one
    /// that counts the move in the agent's usage version, whose rows
    /// [`Batch::run`] gives ([`usage_version_of`] reads them).
    fn statements(&self, batch: Batch) -> Batch {
        self.bind(batch.statement(self.sql()))
            .statement(MOVE_USAGE_VERSION)
            .bind_next(self.agent_id)
            .returning()
    }

    fn sql(&self) -> &'static str {
        bump_sql(self.merchant_key.is_some())
    }

    fn bind<B: Binds>(&self, b: B) -> B {
        let by = self.by;
        let mut b = b
            .bind_next(self.agent_id)
            .bind_next(self.currency)
            .bind_next(by.count)
            .bind_next(by.spend)
            .bind_next(MAX_BUCKET_SPEND)
            .bind_next(by.spend.clamp(0, MAX_BUCKET_SPEND));
        for start in bucket_starts(self.created_ms) {
            b = b.bind_next(start);
        }
        b = b
            .bind_next(by.flagged_count)
            .bind_next(by.flagged_spend)
            .bind_next(by.flagged_spend.clamp(0, MAX_BUCKET_SPEND));
        if let Some(merchant) = self.merchant_key {
            b = b.bind_next(merchant);
        }
        b
    }
}

/// Counts a move of an agent's counters: `$1` the agent.
const MOVE_USAGE_VERSION: &str =
    "UPDATE agents SET usage_version = usage_version + 1 WHERE id = $1 RETURNING usage_version";

/// The agent's usage version a batch's [`Bump::statements`] left, from
/// the batch's rows (none if the agent is gone).
fn usage_version_of(rows: &[DbRow]) -> Option<i64> {
    rows.first()?.try_get::<i64, _>("usage_version").ok()
}

/// Brings an intent's share of its agent's spend, and of its flagged
/// settlements, up to date with its status, amounts and settlement,
/// moving the counters by the difference. Every write that changes an
/// intent's status or settlement calls it; `flagged` is whether its
/// settlement now counts as flagged, none to leave that as it is.
async fn resync_spend(tx: &mut Tx, intent_id: &str, flagged: Option<bool>) -> Result<()> {
    let row = sqlx::query(
        "SELECT agent_id, created_ms, currency, merchant_key, status, amount_minor,
                actual_minor, settled_confirmed, spend_minor, flagged, reserved_minor
         FROM intents WHERE id = $1",
    )
    .bind(intent_id)
    .fetch_one(&mut **tx)
    .await?;
    let status = status_of("intents.status", row.try_get("status")?)?;
    let minor = |column: &str| -> Result<Option<u64>> {
        Ok(row
            .try_get::<Option<i64>, _>(column)?
            .map(|v| v.max(0) as u64))
    };
    let settled_by = if row.try_get::<i64, _>("settled_confirmed")? == 1 {
        Reporter::Tenant
    } else {
        Reporter::Agent
    };
    let declared = minor("amount_minor")?;
    // An authorized intent counts what its authorization reserves.
    let spend = match minor("reserved_minor")? {
        Some(reserved) if status == IntentStatus::Authorized => {
            spend_minor(status, Some(reserved), None, settled_by)
        }
        _ => spend_minor(status, declared, minor("actual_minor")?, settled_by),
    };
    let before: i64 = row.try_get("spend_minor")?;
    let was_flagged = row.try_get::<i64, _>("flagged")? == 1;
    let is_flagged = flagged.unwrap_or(was_flagged);
    if spend == before && is_flagged == was_flagged {
        return Ok(());
    }
    sqlx::query("UPDATE intents SET spend_minor = $1, flagged = $2 WHERE id = $3")
        .bind(spend)
        .bind(i64::from(is_flagged))
        .bind(intent_id)
        .execute(&mut **tx)
        .await?;
    let flag = i64::from(is_flagged) - i64::from(was_flagged);
    let declared = declared.unwrap_or(0).min(MAX_BUCKET_SPEND as u64) as i64;
    Bump::new(
        row.try_get("agent_id")?,
        row.try_get("merchant_key")?,
        row.try_get("currency")?,
        row.try_get("created_ms")?,
        Counts {
            count: 0,
            spend: spend - before,
            flagged_count: flag,
            flagged_spend: flag * declared,
        },
    )
    .run(tx)
    .await
}
