// Package warrant is the Go SDK for Warrant plugins: the types of Warrant's
// WIT contract (wit/warrant.wit), the answers a plugin gives, exact amounts
// and strict configuration reading.
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
}

// Usage is the agent's recent activity, before the intent being decided.
type Usage struct {
	Currency          string
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
