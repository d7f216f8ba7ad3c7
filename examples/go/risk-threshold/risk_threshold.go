// risk-threshold: approves, reviews or denies an intent by the risk score
// of the policy's risk plugins. A port of Warrant's built-in plugin of the
// same name (plugins/risk-threshold), with the same codes, reasons and
// annotations.
//
// Configuration:
//
//	{"autoApproveBelow": 30, "maxRiskThreshold": 80}
//
// Both are scores from 0 to 100 and optional; each one left out defaults
// by the agent's type:
//
//	agent type   autoApproveBelow  maxRiskThreshold
//	supervised   30                80
//	autonomous   20                60
//	advisory     50                90
//	mcp-server   30                80
//
// autoApproveBelow above maxRiskThreshold (after the defaults) is an
// invalid configuration.
//
//   - no risk score (the policy has no risk plugins): review
//     (`no-risk-score`);
//   - a score below autoApproveBelow: approve;
//   - a score above maxRiskThreshold: deny (`risk-above-max`);
//   - otherwise review (`risk-needs-review`).
//
// Reasons name the score, the thresholds and the strongest risk signals.
// Decisions are annotated with score, autoApproveBelow, maxRiskThreshold
// and agentType.
package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	warrant "warrant.dev/sdk/go"
	"warrant.dev/sdk/go/policy"
)

// Config is the rule's configuration.
type Config struct {
	// AutoApproveBelow: scores below this are approved, 0..=100.
	AutoApproveBelow *uint32 `json:"autoApproveBelow"`
	// MaxRiskThreshold: scores above this are denied, 0..=100.
	MaxRiskThreshold *uint32 `json:"maxRiskThreshold"`
}

func init() { policy.Export(evaluate) }

// main is never called: the host calls evaluate.
func main() {}

// topSignals is how many signals a reason names at most.
const topSignals = 3

// evaluate decides on one intent, as the package comment describes.
func evaluate(cx *warrant.Context, config Config) (warrant.Decision, error) {
	agentType := cx.Agent.Type
	defaultApprove, defaultMax := defaults(agentType)
	approveBelow, err := score("autoApproveBelow", config.AutoApproveBelow, defaultApprove)
	if err != nil {
		return warrant.Decision{}, err
	}
	max, err := score("maxRiskThreshold", config.MaxRiskThreshold, defaultMax)
	if err != nil {
		return warrant.Decision{}, err
	}
	if approveBelow > max {
		return warrant.Decision{}, warrant.InvalidConfig(fmt.Sprintf(
			"`autoApproveBelow` (%d) is above `maxRiskThreshold` (%d) for an agent of type %s",
			approveBelow, max, typeName(agentType)))
	}

	thresholds := func(decision warrant.Decision) warrant.Decision {
		return decision.
			WithAnnotation("autoApproveBelow", strconv.FormatUint(uint64(approveBelow), 10)).
			WithAnnotation("maxRiskThreshold", strconv.FormatUint(uint64(max), 10)).
			WithAnnotation("agentType", typeName(agentType))
	}
	risk := cx.Risk
	if risk == nil {
		return thresholds(
			warrant.Review("the policy has no risk score, so the risk threshold cannot be checked").
				WithCode("no-risk-score"),
		), nil
	}
	score := uint32(risk.Score)
	signals := strongest(risk.Signals)

	var decision warrant.Decision
	switch {
	case score < approveBelow:
		decision = warrant.Approve()
	case score > max:
		decision = warrant.Deny(fmt.Sprintf("the risk score %d is above the maximum of %d%s", score, max, signals)).
			WithCode("risk-above-max")
	default:
		decision = warrant.Review(fmt.Sprintf(
			"the risk score %d is between the auto-approval threshold of %d and the maximum of %d%s",
			score, approveBelow, max, signals)).
			WithCode("risk-needs-review")
	}
	return thresholds(decision.WithAnnotation("score", strconv.FormatUint(uint64(score), 10))), nil
}

// defaults are the thresholds for an agent type: autoApproveBelow and
// maxRiskThreshold.
func defaults(agentType warrant.AgentType) (uint32, uint32) {
	switch agentType {
	case warrant.AgentAutonomous:
		return 20, 60
	case warrant.AgentAdvisory:
		return 50, 90
	default: // supervised, mcp-server
		return 30, 80
	}
}

func typeName(agentType warrant.AgentType) string {
	switch agentType {
	case warrant.AgentAutonomous:
		return "autonomous"
	case warrant.AgentAdvisory:
		return "advisory"
	case warrant.AgentMCPServer:
		return "mcp-server"
	default:
		return "supervised"
	}
}

// score is a configured score, or the default when it is left out.
func score(field string, value *uint32, fallback uint32) (uint32, error) {
	switch {
	case value == nil:
		return fallback, nil
	case *value > 100:
		return 0, warrant.InvalidConfig(fmt.Sprintf("`%s` must be a score from 0 to 100, not %d", field, *value))
	default:
		return *value, nil
	}
}

// strongest is `; strongest signals: a (60), b (30)`, the names of the
// highest-scoring signals, each once; empty when no signal scores above 0.
func strongest(signals []warrant.Signal) string {
	var ranked []warrant.Signal
	for _, s := range signals {
		if s.Score > 0 {
			ranked = append(ranked, s)
		}
	}
	// Stable: among equal scores, the policy's order.
	slices.SortStableFunc(ranked, func(a, b warrant.Signal) int { return int(b.Score) - int(a.Score) })
	var names, named []string
	for _, s := range ranked {
		if len(named) == topSignals {
			break
		}
		if !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
			named = append(named, fmt.Sprintf("%s (%d)", s.Name, s.Score))
		}
	}
	switch len(named) {
	case 0:
		return ""
	case 1:
		return "; strongest signal: " + named[0]
	default:
		return "; strongest signals: " + strings.Join(named, ", ")
	}
}
