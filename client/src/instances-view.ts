// The "gpc instances" tree view: owner struct and field, lifecycle sites,
// finding counts; a site opens its line.
import * as vscode from 'vscode';
import { instancesRequest, type InstanceInfo, type InstanceSite } from '../../server/src/protocol';
import type { GpcscopeContext } from './context';

type Item = { instance: InstanceInfo } | { site: InstanceSite };

export class InstancesView implements vscode.TreeDataProvider<Item>, vscode.Disposable {
	private readonly changed = new vscode.EventEmitter<void>();
	readonly onDidChangeTreeData = this.changed.event;
	private readonly view: vscode.TreeView<Item>;

	constructor(private readonly ctx: GpcscopeContext) {
		this.view = vscode.window.createTreeView('gpcscope.instances', { treeDataProvider: this });
	}

	refresh(): void {
		this.changed.fire();
	}

	/** Before the server runs the view is empty and its welcome text offers to start it (package.json). */
	async getChildren(item?: Item): Promise<Item[]> {
		if (!item) return ((await this.ctx.client?.sendRequest(instancesRequest)) ?? []).map((instance) => ({ instance }));
		return 'instance' in item ? item.instance.sites.map((site) => ({ site })) : [];
	}

	getTreeItem(item: Item): vscode.TreeItem {
		if ('instance' in item) {
			const { id, sites, findings } = item.instance;
			const t = new vscode.TreeItem(id, vscode.TreeItemCollapsibleState.Collapsed);
			const count = (role: string) => sites.filter((s) => s.role === role).length;
			t.description = `${count('activate')} activate · ${count('deactivate')} deactivate${findings ? ` · ${findings} finding${findings > 1 ? 's' : ''}` : ''}`;
			t.iconPath = new vscode.ThemeIcon(findings ? 'warning' : 'symbol-field');
			return t;
		}
		const { site } = item;
		const uri = vscode.Uri.parse(site.uri);
		const t = new vscode.TreeItem(`${site.role} · ${site.function}()`);
		t.description = `${uri.path.split('/').pop()}:${site.line + 1}`;
		t.command = { title: 'Open', command: 'vscode.open', arguments: [uri, { selection: new vscode.Range(site.line, 0, site.line, 0) }] };
		return t;
	}

	dispose(): void {
		this.view.dispose();
		this.changed.dispose();
	}
}
