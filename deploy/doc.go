// Package deploy holds what runs beside vmstor serve: Prometheus alert rules
// (prometheus/vmstor-rules.yml, with promtool unit tests) and a Grafana
// dashboard (grafana/vmstor-dashboard.json). It has no Go code; its tests
// check the rules and the dashboard against the metrics vmstor exports.
package deploy
