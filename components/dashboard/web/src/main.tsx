import { render } from 'preact';
import './styles.css';
import { App } from './app';
import { token } from './auth';
import { loadCampaigns } from './lib/campaigns';
import { match } from './router';

// The board needs every campaign: start paging them in while the session is checked
// (the pages land in the shared list, which the board draws from its first page on).
if (token.value && match(window.location.pathname).view === 'board') void loadCampaigns().catch(() => undefined);

const root = document.getElementById('app');
if (root) render(<App />, root);
