// Package warrant is the Go SDK for Warrant plugins: the types of Warrant's
// WIT contract (wit/0.3.0/warrant.wit), the answers a plugin gives, exact
// amounts and strict configuration reading.
//
// A policy plugin registers its function with the policy package, a risk
// plugin with the risk package; either turns the program into a WebAssembly
// component's core module when built with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared
//
// Every type and field below is documented in the WIT itself; they differ
// from it only where Go has a better spelling: an option is a pointer (nil
// when absent), a variant is a kind and a value.
//
// Built for WIT 0.1.0 (the tag warrant_wit_0_1_0), the context has the same
// types, but what 0.1.0 lacks is always zero: Agent.Baseline and
// Context.Charge are nil, Usage.Timezone is empty (the host's calendar
// windows are then in UTC), and WindowUsage.FlaggedCount and FlaggedSpend
// are 0.
package warrant

// Context is everything a plugin knows when it decides.
type Context struct {
	Intent Intent
	Agent  Agent
	Usage  Usage
	// Risk is nil for risk plugins themselves and for policies without
	// risk plugins.
	Risk *RiskSummary
	// Now is the time of the decision. Use it, never a clock.
	Now Timestamp
	// Charge is the charge of the recurring Intent that the policy's
	// charge rules check; nil when an intent is being declared.
	Charge *Charge
}

// Timestamp is a point in time, UTC.
type Timestamp struct {
	Seconds     int64
	Nanoseconds uint32
}

// Money is an amount in a currency's minor units (cents for EUR).
type Money struct {
	MinorUnits uint64
	Currency   string
}

// Intent is what an agent declares it wants to pay.
type Intent struct {
	ID             string
	Amount         *Money
	Merchant       *string
	Card           Card
	Purpose        string
	Recurring      *RecurringTerms
	ClientIntentID *string
	TTLMinutes     uint32
}

// CardKind tells how an intent names its card.
type CardKind uint8

const (
	CardByID CardKind = iota
	CardByName
)

// Card is the card an intent is to be paid with: its id or its name.
type Card struct {
	Kind  CardKind
	Value string
}

// Cadence is how often a recurring intent charges.
type Cadence uint8

const (
	CadenceDaily Cadence = iota
	CadenceWeekly
	CadenceMonthly
	CadenceYearly
)

// RecurringTerms are the terms of an intent that authorizes a series of
// charges.
type RecurringTerms struct {
	Cadence               Cadence
	WindowStartDaysBefore uint32
	WindowEndDaysAfter    uint32
	AmountToleranceBps    uint32
	MerchantMatch         bool
}

// AgentStatus is whether an agent may act.
type AgentStatus uint8

const (
	AgentActive AgentStatus = iota
	AgentFrozen
	AgentSuspended
	AgentArchived
)

// AgentType is how much human oversight an agent runs under.
type AgentType uint8

const (
	AgentAutonomous AgentType = iota
	AgentSupervised
	AgentAdvisory
	AgentMCPServer
)

// Agent is the agent that declared the intent.
type Agent struct {
	ID      string
	Name    string
	Status  AgentStatus
	Type    AgentType
	Profile AgentProfile
	Tags    []string
	// Metadata is the text of a JSON object, `{}` when none.
	Metadata string
	// Baseline is what is usual for the agent; nil until its tenant sets
	// one.
	Baseline *Baseline
}

// Baseline is what is usual for an agent, set by its tenant from the
// agent's history or by hand; anomaly plugins compare an intent with it.
type Baseline struct {
	// Currency is the currency of the amounts below, e.g. `EUR`.
	Currency string
	// AmountMean is the mean amount of the agent's intents, in minor units.
	AmountMean uint64
	// AmountStdDev is the standard deviation of those amounts, in minor
	// units.
	AmountStdDev uint64
	// IntentsPerDay is how many intents the agent declares on a usual day.
	IntentsPerDay uint32
	// ActiveHours are the hours of the day (0..=23, UTC) in which the
	// agent is usually active; empty when not known.
	ActiveHours []uint8
	// Merchants are the merchants (lower case) the agent usually pays.
	Merchants []string
	// SetAt is when the baseline was set.
	SetAt Timestamp
}

// AgentProfile is what the agent is for, as its tenant described it.
type AgentProfile struct {
	Purpose      string
	Framework    *string
	Capabilities []string
	Description  *string
	Department   *string
	OwnerContact *string
}

// WindowUsage is how many intents an agent declared in a window, and what
// they spend in minor units of Usage.Currency.
type WindowUsage struct {
	Count uint64
	Spend uint64
	// FlaggedCount is how many of those intents had their settlement, as
	// the agent reported it, flagged (an amount beyond the tolerance,
	// another merchant) without the tenant confirming it since.
	FlaggedCount uint64
	// FlaggedSpend is what those flagged intents declared, in minor units
	// of Usage.Currency.
	FlaggedSpend uint64
}

// Usage is the agent's recent activity, before the intent being decided.
type Usage struct {
	Currency string
	// Timezone is the IANA time zone of the calendar windows, e.g.
	// `Europe/Berlin`: the policy's, `UTC` unless it names one.
	Timezone          string
	LastMinute        WindowUsage
	LastHour          WindowUsage
	LastDay           WindowUsage
	LastWeek          WindowUsage
	LastMonth         WindowUsage
	CalendarDay       WindowUsage
	CalendarMonth     WindowUsage
	MerchantLastMonth WindowUsage
}

// RiskSummary is the combined answer of a policy's risk plugins.
type RiskSummary struct {
	Score   uint8
	Signals []Signal
}

// Charge is a charge reported against a recurring intent, to be accepted
// or flagged by the policy's charge rules.
type Charge struct {
	// Amount is what was charged.
	Amount Money
	// Merchant is who charged it, as reported.
	Merchant string
	// At is when it was charged.
	At Timestamp
	// SeriesStart is when the series began: the time the intent was
	// declared.
	SeriesStart Timestamp
	// Previous are the times of the series' earlier accepted charges,
	// oldest first.
	Previous []Timestamp
}
