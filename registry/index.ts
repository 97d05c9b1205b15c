// The model registry: versioned, checksummed model artifacts under one root folder, their lifecycle
// status, and their announcements on Kafka. A library layer above streams/ and models/: the apps
// (processors/ loads announced models) and cli/ (`buddies models`) import it; it imports no app.
export {
  artifactDir, artifactFiles, checkArtifactFolder, checksumFile, EMBEDDINGS_BACKEND, kindFolder, kindInWords, kindOfModelName, MODEL_NAMES, ModelArtifactError,
  NotASavedModelError, REGISTRY_KINDS, RegistryError, WrongKindError,
} from './artifacts.js';
export type { ArtifactInfo, FileChecksum, RegistryKind } from './artifacts.js';
export {
  announcementOf, createModelRegistry, MODEL_STATUSES, readRecord, RECORD_FILE, REGISTRY_FORMAT, REGISTRY_FORMAT_VERSION, STATUS_TRANSITIONS, verifyFolder,
} from './registry.js';
export type {
  AnnounceTarget, DataWindow, ModelRegistry, ModelRegistryOptions, ModelStatus, ModelVersion, PublishMeta, RegistryRecord, StatusChange, VerifyResult,
} from './registry.js';
export { publishSavedModel } from './saved.js';
export { latestAnnouncements, loadAnnouncedBpr, loadAnnouncedEmbeddings } from './announcements.js';
export type { AnnouncedBpr, AnnouncedEmbeddings } from './announcements.js';
export { publishTrackEmbeddings, trackEmbeddingMetrics, trainTrackEmbeddings } from './train.js';
export type { PublishedTrackEmbeddings, PublishTrackEmbeddingsOptions, TrainingPlaylist, TrainTrackEmbeddingsOptions } from './train.js';
export {
  CANARY_KINDS, CANARY_SHARE_METRIC, CANARY_STARTED_METRIC, CANARY_SUFFIX, canaryModelName, canaryOf, createAnnouncementLog, currentCanary, isCanaryKey, promote, rollback,
  startCanary,
} from './lifecycle.js';
export type { AnnouncementLog, AnnouncementRecord, CanaryInfo, LifecycleDeps, PromoteResult, RollbackResult } from './lifecycle.js';
