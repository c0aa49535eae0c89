// Start GOV.UK Frontend's components (the skip link's focus, the service navigation's menu). A file, not
// an inline script, so the Content-Security-Policy needs no nonce for it.
import { initAll } from "./govuk-frontend.min.js";

initAll();
