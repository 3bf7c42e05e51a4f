// Starts a real Unleash server for the integration tests; configured by environment variables
// set in tests/integration/unleash_server.py.
'use strict';

const env = process.env;

require('unleash-server').start({
  db: {
    user: env.UNLEASH_DB_USER || 'postgres',
    password: env.UNLEASH_DB_PASSWORD || '',
    host: env.UNLEASH_DB_HOST || '127.0.0.1',
    port: Number(env.UNLEASH_DB_PORT || 5432),
    database: env.UNLEASH_DB_NAME,
    ssl: false,
  },
  server: { host: '127.0.0.1', port: Number(env.UNLEASH_PORT) },
  authentication: {
    type: 'open-source',
    createAdminUser: true,
    initApiTokens: [
      { type: 'admin', secret: env.UNLEASH_ADMIN_TOKEN, environment: '*', projects: ['*'], tokenName: 'admin' },
      { type: 'backend', secret: env.UNLEASH_CLIENT_TOKEN, environment: 'development', projects: ['default'], tokenName: 'backend' },
    ],
  },
  versionCheck: { enable: false },
  logLevel: 'warn',
}).catch((err) => {
  console.error(err);
  process.exit(1);
});
