import './style.css';

const q = new URLSearchParams(location.search);
(document.getElementById('failed') as HTMLElement).hidden = q.get('failed') !== '1';
const next = q.get('next');
if (next) (document.getElementById('next') as HTMLInputElement).value = next;
document.documentElement.dataset.theme = matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
