// One content item at its own URL (/content/{id}).
import { ContentDetail } from '../components/content';
import { Link } from '../components/ui';
import type { Route } from '../router';

export default function ContentView({ route }: { route: Route }) {
  const id = route.view === 'content' ? route.id : '';
  return (
    <div class="page">
      <p class="breadcrumb">
        <Link href="/inbox">← Approval inbox</Link>
      </p>
      <h1 class="sr-only">Content item</h1>
      <div class="panel">
        <ContentDetail id={id} />
      </div>
    </div>
  );
}
