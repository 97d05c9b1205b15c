// The model lifecycle's online half: the canary controller (promote or roll back a BPR canary on its online
// metrics) and the degradation monitor (trigger retraining when online metrics fall). Above registry/ and
// ClickHouse; cli/lifecycle.ts runs both. The lifecycle steps themselves (canary, promote, rollback) are
// registry/lifecycle.ts.
export { clusteredRateVariance, normalCdf, nonInferiorityTest, worseTest } from './stats.js';
export type { ClusterSums, Proportion, ZTest } from './stats.js';
export { CANARY_METRICS, checkCanaryRule, compareMetric, decideCanary, DEFAULT_CANARY_RULE } from './decision.js';
export type { ArmCounts, ArmUserSums, CanaryCheck, CanaryMetric, CanaryRule, CheckOutcome, MetricComparison } from './decision.js';
export { bprArmsSql, createClickHouseCounts, createClickHouseRecorder, versionCountsSql } from './warehouse.js';
export type { BprArm, DecisionRow, LifecycleRecorder, OnlineCounts, TriggerRow, VersionCounts } from './warehouse.js';
export { createCanaryController } from './controller.js';
export type { CanaryController, CanaryControllerOptions, CheckReport } from './controller.js';
export {
  checkMonitorOptions, createDegradationMonitor, DEFAULT_MONITOR_OPTIONS, evaluateDegradation, metricOf, MONITOR_METRIC_NAMES, MONITORED_METRICS,
} from './monitor.js';
export type { Degradation, DegradationMonitor, DegradationMonitorOptions, MetricValue, MonitoredMetric, MonitorOptions, MonitorReport } from './monitor.js';
