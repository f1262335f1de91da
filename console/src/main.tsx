/** The console's entry: theme, then the app. */
import { render } from 'preact';
import { App } from './app';
import './style.css';
import { applyTheme, currentTheme } from './theme';

applyTheme(currentTheme());
render(<App />, document.getElementById('app')!);
