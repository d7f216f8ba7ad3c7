package warranttest

import (
	"testing"

	warrant "warrant.dev/sdk/go"
)

func TestContextFillsEveryFieldOfTheContract(t *testing.T) {
	cx := Context()
	if cx.Agent.Baseline != nil || cx.Charge != nil || cx.Risk != nil || cx.Intent.Amount != nil || cx.Intent.Merchant != nil {
		t.Errorf("got %+v", cx)
	}
	if cx.Usage.Timezone != "UTC" || cx.Usage.Currency != "EUR" || cx.Usage.LastDay != (warrant.WindowUsage{}) ||
		cx.Usage.CalendarMonth.FlaggedCount != 0 || cx.Usage.MerchantLastMonth.FlaggedSpend != 0 {
		t.Errorf("got %+v", cx.Usage)
	}
	if cx.Now != Now || Now.Seconds != 1_767_225_600 || cx.Intent.Card != (warrant.Card{Kind: warrant.CardByName, Value: "main"}) ||
		cx.Agent.Status != warrant.AgentActive || cx.Agent.Type != warrant.AgentSupervised || cx.Agent.Metadata != "{}" {
		t.Errorf("got %+v", cx)
	}
	// Each call is a context of its own.
	cx.Agent.Tags = append(cx.Agent.Tags, "changed")
	cx.Usage.Timezone = "Europe/Berlin"
	if again := Context(); len(again.Agent.Tags) != 0 || again.Usage.Timezone != "UTC" {
		t.Errorf("got %+v", again)
	}
}
