package main

import (
	"errors"
	"slices"
	"strconv"
	"testing"

	warrant "warrant.dev/sdk/go"
	"warrant.dev/sdk/go/policy"
	"warrant.dev/sdk/go/warranttest"
)

// These tests are those of the built-in plugin (plugins/risk-threshold),
// with the same cases and the same expected answers.

func signal(name string, score uint8) warrant.Signal {
	return warrant.Signal{Name: name, Score: score, Detail: name + " detail"}
}

// decideAs decides for an agent of agentType, with a risk summary of score
// and signals (none when score is nil).
func decideAs(agentType warrant.AgentType, score *uint8, signals []warrant.Signal, config string) (warrant.Decision, error) {
	cx := warranttest.Context()
	cx.Agent.Type = agentType
	if score != nil {
		cx.Risk = &warrant.RiskSummary{Score: *score, Signals: signals}
	}
	return policy.Run(evaluate, cx, config)
}

func decide(t *testing.T, score uint8, config string) warrant.Decision {
	t.Helper()
	d, err := decideAs(warrant.AgentSupervised, &score, nil, config)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func annotation(d warrant.Decision, key string) string {
	value, _ := d.Annotation(key)
	return value
}

const explicit = `{"autoApproveBelow": 30, "maxRiskThreshold": 70}`

func TestApprovesAScoreBelowTheAutoApprovalThreshold(t *testing.T) {
	d := decide(t, 29, explicit)
	if d.Verdict != warrant.VerdictApprove || len(d.Codes) != 0 || annotation(d, "score") != "29" ||
		annotation(d, "autoApproveBelow") != "30" || annotation(d, "maxRiskThreshold") != "70" ||
		annotation(d, "agentType") != "supervised" {
		t.Errorf("got %+v", d)
	}
	// The annotations come in the built-in's order.
	if keys := []string{d.Annotations[0].Key, d.Annotations[1].Key, d.Annotations[2].Key, d.Annotations[3].Key}; !slices.Equal(keys,
		[]string{"score", "autoApproveBelow", "maxRiskThreshold", "agentType"}) {
		t.Errorf("got %v", keys)
	}
	if d := decide(t, 0, explicit); d.Verdict != warrant.VerdictApprove {
		t.Errorf("got %+v", d)
	}
}

func TestReviewsAScoreBetweenTheThresholdsInclusive(t *testing.T) {
	for _, score := range []uint8{30, 50, 70} {
		if d := decide(t, score, explicit); d.Verdict != warrant.VerdictReview || !slices.Equal(d.Codes, []string{"risk-needs-review"}) {
			t.Errorf("%d: got %+v", score, d)
		}
	}
	if d := decide(t, 30, explicit); d.Reason != "the risk score 30 is between the auto-approval threshold of 30 and the maximum of 70" {
		t.Errorf("got %q", d.Reason)
	}
}

func TestDeniesAScoreAboveTheMaximum(t *testing.T) {
	d := decide(t, 71, explicit)
	if d.Verdict != warrant.VerdictDeny || !slices.Equal(d.Codes, []string{"risk-above-max"}) ||
		d.Reason != "the risk score 71 is above the maximum of 70" || annotation(d, "score") != "71" {
		t.Errorf("got %+v", d)
	}
	if d := decide(t, 100, explicit); d.Verdict != warrant.VerdictDeny {
		t.Errorf("got %+v", d)
	}
}

func TestReasonsNameTheStrongestSignals(t *testing.T) {
	score := uint8(90)
	d, err := decideAs(warrant.AgentSupervised, &score, []warrant.Signal{
		signal("unusual-hour", 25), signal("quiet", 0), signal("burst", 50),
		signal("new-merchant", 30), signal("amount-deviation", 45), signal("burst", 40),
	}, explicit)
	if err != nil || d.Reason != "the risk score 90 is above the maximum of 70; strongest signals: burst (50), "+
		"amount-deviation (45), new-merchant (30)" {
		t.Errorf("got %+v, %v", d, err)
	}
	score = 40
	d, err = decideAs(warrant.AgentSupervised, &score, []warrant.Signal{signal("new-merchant", 30), signal("quiet", 0)}, explicit)
	if err != nil || d.Reason != "the risk score 40 is between the auto-approval threshold of 30 and the maximum of 70; "+
		"strongest signal: new-merchant (30)" {
		t.Errorf("got %+v, %v", d, err)
	}
	// Among equal scores, the policy's order.
	score = 90
	d, _ = decideAs(warrant.AgentSupervised, &score, []warrant.Signal{
		signal("a", 10), signal("b", 20), signal("c", 10), signal("d", 20), signal("e", 10),
	}, explicit)
	if d.Reason != "the risk score 90 is above the maximum of 70; strongest signals: b (20), d (20), a (10)" {
		t.Errorf("got %q", d.Reason)
	}
}

func TestDefaultsTheThresholdsByAgentType(t *testing.T) {
	for _, c := range []struct {
		agentType         warrant.AgentType
		name              string
		approveBelow, max uint8
	}{
		{warrant.AgentSupervised, "supervised", 30, 80},
		{warrant.AgentAutonomous, "autonomous", 20, 60},
		{warrant.AgentAdvisory, "advisory", 50, 90},
		{warrant.AgentMCPServer, "mcp-server", 30, 80},
	} {
		at := func(score uint8) warrant.Decision {
			d, err := decideAs(c.agentType, &score, nil, "{}")
			if err != nil {
				t.Fatal(err)
			}
			return d
		}
		d := at(c.approveBelow - 1)
		if d.Verdict != warrant.VerdictApprove || annotation(d, "agentType") != c.name ||
			annotation(d, "autoApproveBelow") != strconv.Itoa(int(c.approveBelow)) ||
			annotation(d, "maxRiskThreshold") != strconv.Itoa(int(c.max)) {
			t.Errorf("%s: got %+v", c.name, d)
		}
		if at(c.approveBelow).Verdict != warrant.VerdictReview || at(c.max).Verdict != warrant.VerdictReview ||
			!slices.Equal(at(c.max+1).Codes, []string{"risk-above-max"}) {
			t.Errorf("%s: wrong thresholds", c.name)
		}
	}
}

func TestDefaultsOnlyWhatIsLeftOut(t *testing.T) {
	// An autonomous agent: 20/60 by default.
	score := uint8(65)
	d, err := decideAs(warrant.AgentAutonomous, &score, nil, `{"maxRiskThreshold": 70}`)
	if err != nil || d.Verdict != warrant.VerdictReview || annotation(d, "autoApproveBelow") != "20" {
		t.Errorf("got %+v, %v", d, err)
	}
	score = 45
	d, err = decideAs(warrant.AgentAutonomous, &score, nil, `{"autoApproveBelow": 50}`)
	if err != nil || d.Verdict != warrant.VerdictApprove || annotation(d, "maxRiskThreshold") != "60" {
		t.Errorf("got %+v, %v", d, err)
	}
	// null leaves a threshold out, as serde's Option does.
	d, err = decideAs(warrant.AgentAutonomous, &score, nil, `{"autoApproveBelow": null}`)
	if err != nil || annotation(d, "autoApproveBelow") != "20" {
		t.Errorf("got %+v, %v", d, err)
	}
}

func TestTheExtremesOfTheThresholds(t *testing.T) {
	for _, c := range []struct {
		config  string
		score   uint8
		verdict warrant.Verdict
	}{
		// Nothing is approved automatically below 0; everything above 0
		// is denied.
		{`{"autoApproveBelow": 0, "maxRiskThreshold": 0}`, 0, warrant.VerdictReview},
		{`{"autoApproveBelow": 0, "maxRiskThreshold": 0}`, 1, warrant.VerdictDeny},
		// Everything below 100 is approved; nothing is denied.
		{`{"autoApproveBelow": 100, "maxRiskThreshold": 100}`, 99, warrant.VerdictApprove},
		{`{"autoApproveBelow": 100, "maxRiskThreshold": 100}`, 100, warrant.VerdictReview},
		// Equal thresholds review exactly that score.
		{`{"autoApproveBelow": 50, "maxRiskThreshold": 50}`, 49, warrant.VerdictApprove},
		{`{"autoApproveBelow": 50, "maxRiskThreshold": 50}`, 50, warrant.VerdictReview},
		{`{"autoApproveBelow": 50, "maxRiskThreshold": 50}`, 51, warrant.VerdictDeny},
	} {
		if d := decide(t, c.score, c.config); d.Verdict != c.verdict {
			t.Errorf("%s at %d: got %+v", c.config, c.score, d)
		}
	}
}

func TestReviewsWithoutARiskScore(t *testing.T) {
	d, err := decideAs(warrant.AgentAutonomous, nil, nil, "{}")
	if err != nil || d.Verdict != warrant.VerdictReview || !slices.Equal(d.Codes, []string{"no-risk-score"}) ||
		d.Reason != "the policy has no risk score, so the risk threshold cannot be checked" ||
		annotation(d, "score") != "" || annotation(d, "agentType") != "autonomous" {
		t.Errorf("got %+v, %v", d, err)
	}
}

func TestRefusesInvalidConfigurations(t *testing.T) {
	isInvalid := func(err error) bool {
		var pluginError *warrant.PluginError
		return errors.As(err, &pluginError) && pluginError.Code == "invalid-config"
	}
	score := uint8(50)
	for _, config := range []string{
		`{"autoApproveBelow": 101}`,
		`{"maxRiskThreshold": 101}`,
		`{"autoApproveBelow": -1}`,
		`{"autoApproveBelow": 10.5}`,
		`{"autoApproveBelow": "10"}`,
		`{"autoApproveBelow": 71, "maxRiskThreshold": 70}`,
		// 90 is above the supervised default maximum of 80.
		`{"autoApproveBelow": 90}`,
		// 20 is below the supervised default of 30.
		`{"maxRiskThreshold": 20}`,
		`{"threshold": 50}`,
		"[]",
		"null",
		"not json",
	} {
		if _, err := decideAs(warrant.AgentSupervised, &score, nil, config); !isInvalid(err) {
			t.Errorf("%s: got %v", config, err)
		}
	}
	_, err := decideAs(warrant.AgentSupervised, &score, nil, `{"autoApproveBelow": 101}`)
	if err.Error() != "invalid-config: `autoApproveBelow` must be a score from 0 to 100, not 101" {
		t.Errorf("got %v", err)
	}
	_, err = decideAs(warrant.AgentMCPServer, &score, nil, `{"autoApproveBelow": 90}`)
	if err.Error() != "invalid-config: `autoApproveBelow` (90) is above `maxRiskThreshold` (80) for an agent of type mcp-server" {
		t.Errorf("got %v", err)
	}
	// The same configuration is valid for an agent type whose default
	// allows it.
	score = 10
	if _, err := decideAs(warrant.AgentAdvisory, &score, nil, `{"autoApproveBelow": 90}`); err != nil {
		t.Error(err)
	}
	// An invalid configuration is refused even without a risk score.
	if _, err := decideAs(warrant.AgentSupervised, nil, nil, `{"autoApproveBelow": 101}`); !isInvalid(err) {
		t.Errorf("got %v", err)
	}
}
