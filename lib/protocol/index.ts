export * from './version';
export * from './frame';
export * from './messages';
export * from './events';
export * from './commands';
export * from './producerMetrics';
export * from './steering';
export * from './runMetrics';
