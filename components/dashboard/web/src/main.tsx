import { render } from 'preact';
import './styles.css';
import { App } from './app';
import { token } from './auth';
import { allCampaigns } from './lib/campaigns';
import { match } from './router';

// The board needs every campaign: start paging them in while the session is checked.
if (token.value && match(window.location.pathname).view === 'board') void allCampaigns().catch(() => undefined);

const root = document.getElementById('app');
if (root) render(<App />, root);
