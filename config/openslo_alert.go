package config

// AlertPolicy, AlertCondition and AlertNotificationTarget: the YAML shapes.
// The mapping onto tiers is in alertPolicies.

type openSLOPolicyItem struct {
	AlertPolicyRef string                  `yaml:"alertPolicyRef"`
	Kind           string                  `yaml:"kind"`
	Metadata       openSLOMetadata         `yaml:"metadata"`
	Spec           *openSLOAlertPolicySpec `yaml:"spec"`
}

type openSLOAlertPolicySpec struct {
	Description         string              `yaml:"description"`
	AlertWhenNoData     *bool               `yaml:"alertWhenNoData"`
	AlertWhenResolved   *bool               `yaml:"alertWhenResolved"`
	AlertWhenBreaching  *bool               `yaml:"alertWhenBreaching"`
	Conditions          []openSLOCondItem   `yaml:"conditions"`
	NotificationTargets []openSLOTargetItem `yaml:"notificationTargets"`
}

type openSLOCondItem struct {
	ConditionRef string                `yaml:"conditionRef"`
	Kind         string                `yaml:"kind"`
	Metadata     openSLOMetadata       `yaml:"metadata"`
	Spec         *openSLOConditionSpec `yaml:"spec"`
}

type openSLOConditionSpec struct {
	Description string            `yaml:"description"`
	Severity    string            `yaml:"severity"`
	Condition   *openSLOCondition `yaml:"condition"`
}

type openSLOCondition struct {
	Kind           string   `yaml:"kind"`
	Op             string   `yaml:"op"`
	Threshold      *float64 `yaml:"threshold"`
	LookbackWindow string   `yaml:"lookbackWindow"`
	AlertAfter     string   `yaml:"alertAfter"`
}

type openSLOTargetItem struct {
	TargetRef string             `yaml:"targetRef"`
	Kind      string             `yaml:"kind"`
	Metadata  openSLOMetadata    `yaml:"metadata"`
	Spec      *openSLOTargetSpec `yaml:"spec"`
}

type openSLOTargetSpec struct {
	Description string `yaml:"description"`
	Target      string `yaml:"target"`
}
