// The interactive API reference at /api/docs: Swagger UI (bundled from npm by this build, never
// from a CDN) over the server's own /api/openapi.json. It runs under the same strict CSP as the
// app: everything here is a same-origin file, and Swagger UI sets styles through the CSSOM only.
import 'swagger-ui-dist/swagger-ui.css';
import SwaggerUIBundle from 'swagger-ui-dist/swagger-ui-es-bundle.js';

SwaggerUIBundle({
  url: '/api/openapi.json',
  dom_id: '#api-docs',
  deepLinking: true,
  // Never ask swagger.io to validate the document (no request leaves the deployment).
  validatorUrl: null,
  // Try it out with the bearer token given under "Authorize"; it stays in this page only.
  persistAuthorization: false,
  tryItOutEnabled: false,
});
