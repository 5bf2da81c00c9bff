export * from './version';
export * from './frame';
export * from './messages';
export * from './events';
