package config

import "fmt"

// dashboardsYAML is the dashboards: section: how the CloudWatch dashboards
// group SLOs, and which regions and alarms they show.
type dashboardsYAML struct {
	Prefix   string              `yaml:"prefix"`
	Services map[string][]string `yaml:"services"`
	Regions  []string            `yaml:"regions"`
	Alarms   []string            `yaml:"alarms"`
}

// Dashboards is the dashboards: section.
type Dashboards struct {
	// Prefix starts every dashboard name ("nines" by default).
	Prefix string
	// Services maps a service to the SLOs on its dashboard.
	Services map[string][]string
	// Regions are the regions the agents probe from.
	Regions []string
	// Alarms are alarm ARNs shown in an alarm status widget.
	Alarms []string
}

func (m *mapper) dashboards(y *dashboardsYAML, c *Config) {
	if y == nil {
		return
	}
	d := Dashboards{Prefix: y.Prefix, Services: y.Services, Regions: y.Regions, Alarms: y.Alarms}
	if d.Prefix == "" {
		d.Prefix = "nines"
	}
	if !dimensionRe.MatchString(d.Prefix) {
		m.d.errorAt("dashboards.prefix", "%q: use letters, digits, - and _ (a dashboard name)", d.Prefix)
	}
	known := map[string]bool{}
	for _, s := range c.SLOs {
		known[s.Name] = true
	}
	placed := map[string]string{}
	for _, svc := range sortedKeys(y.Services) {
		path := "dashboards.services." + svc
		if !dimensionRe.MatchString(svc) {
			m.d.errorAt(path, "%q: use letters, digits, - and _ (it becomes part of a dashboard name)", svc)
		}
		for i, name := range y.Services[svc] {
			p := fmt.Sprintf("%s[%d]", path, i)
			switch {
			case !known[name]:
				m.d.errorAt(p, "%q is not an SLO in slos: or an OpenSLO file", name)
			case placed[name] != "":
				m.d.errorAt(p, "%q is already on the %s dashboard; an SLO goes on one", name, placed[name])
			default:
				placed[name] = svc
			}
		}
	}
	for i, r := range y.Regions {
		if !validDimension(r) {
			m.d.errorAt(fmt.Sprintf("dashboards.regions[%d]", i), "%q is not a region name", r)
		}
	}
	for i, a := range y.Alarms {
		if len(a) < len("arn:aws:cloudwatch:") || a[:len("arn:aws:cloudwatch:")] != "arn:aws:cloudwatch:" {
			m.d.errorAt(fmt.Sprintf("dashboards.alarms[%d]", i), "%q: give the alarm's ARN, arn:aws:cloudwatch:REGION:ACCOUNT:alarm:NAME", a)
		}
	}
	c.Dashboards = d
}
